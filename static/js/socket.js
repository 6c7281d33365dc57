// One WebSocket for a page, kept open: window.groupbuy.socket(path, options) (plain ES5, no build step).
//
// - Reconnects with exponential backoff and jitter (1 s doubling to a 30 s cap, each wait drawn between
//   half and all of it, so phones dropped together do not come back together).
// - Stops for good on the close codes that mean "not for you" (4403 not allowed, 4404 gone; any 44xx).
//   A refused handshake reaches the browser as 1006, like a dropped network, and keeps retrying slowly.
// - Parses each message as JSON; a non-JSON or non-object message is ignored, and an error thrown by
//   onMessage is reported to the console without closing the socket.
// - The servers send whole snapshots on every connect, so a reconnect re-syncs the page: onOpen(true)
//   tells the page it is a reconnect, and the snapshots that follow simply replace what it shows.
//
// options: onMessage(message), onOpen(reconnected), onState("connected" | "reconnecting" | "closed", code)
// returns: { send(object) → true when sent, isOpen(), close() }
(function () {
  "use strict";
  var gb = (window.groupbuy = window.groupbuy || {});
  var FIRST_DELAY = 1000;
  var MAX_DELAY = 30000;
  var STABLE_MS = 5000; // open at least this long before the backoff starts from the beginning again

  function isFinal(code) {
    return code >= 4400 && code < 4500;
  }

  gb.socket = function (path, options) {
    options = options || {};
    var socket = null;
    var attempt = 0;
    var everOpen = false;
    var stopped = false;
    var timer = null;

    function state(name, code) {
      if (options.onState) options.onState(name, code);
    }

    function delay() {
      var ceiling = Math.min(MAX_DELAY, FIRST_DELAY * Math.pow(2, attempt));
      attempt += 1;
      return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    }

    function connect() {
      timer = null;
      if (stopped) return;
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var openedAt = 0;
      try {
        socket = new WebSocket(scheme + window.location.host + path);
      } catch (e) {
        socket = null;
        timer = window.setTimeout(connect, delay());
        return;
      }
      socket.onopen = function () {
        openedAt = Date.now();
        var reconnected = everOpen;
        everOpen = true;
        state("connected");
        if (options.onOpen) options.onOpen(reconnected);
      };
      socket.onmessage = function (event) {
        var message;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (!message || typeof message !== "object") return;
        try {
          if (options.onMessage) options.onMessage(message);
        } catch (e) {
          if (window.console) window.console.error(e);
        }
      };
      socket.onclose = function (event) {
        socket = null;
        if (stopped) return;
        if (isFinal(event.code)) {
          stopped = true;
          state("closed", event.code);
          return;
        }
        if (openedAt && Date.now() - openedAt >= STABLE_MS) attempt = 0;
        state("reconnecting", event.code);
        timer = window.setTimeout(connect, delay());
      };
    }

    if (!("WebSocket" in window)) {
      stopped = true;
    } else {
      connect();
    }

    return {
      send: function (data) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(data));
        return true;
      },
      isOpen: function () {
        return !!socket && socket.readyState === WebSocket.OPEN;
      },
      close: function () {
        stopped = true;
        if (timer) window.clearTimeout(timer);
        if (socket) socket.close();
      },
    };
  };
})();
