// Starts Swagger UI (served from drf-spectacular-sidecar's static files) on the API reference page.
// Kept out of the page so a Content-Security-Policy without 'unsafe-inline' allows it.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrf = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      // A signed-in operator's session may try POSTs from here: Django wants the CSRF token with them.
      if (csrf && request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = decodeURIComponent(csrf[1]);
      }
      return request;
    },
  });
})();
