// Member live room over the socket: comments, questions, the product being explained (讲解中) and the
// jielong button. The server sends whole snapshots on connect, so a reconnect re-syncs the page.
(function () {
  "use strict";
  var room = document.getElementById("live-room");
  if (!room || !room.getAttribute("data-ws") || !window.WebSocket) return;
  var gb = window.groupbuy;

  var list = document.getElementById("live-comments");
  var empty = document.getElementById("live-comments-empty");
  var form = document.getElementById("live-composer");
  var input = document.getElementById("live-text");
  var ask = document.getElementById("live-ask");
  var note = document.getElementById("live-composer-note");
  var socket = null;

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function commentItem(c) {
    var li = document.createElement("li");
    li.setAttribute("data-id", c.id);
    var who = document.createElement("span");
    who.className = "who" + (c.is_staff ? " is-staff" : "");
    who.textContent = c.user;
    li.appendChild(who);
    li.appendChild(document.createTextNode(c.text));
    return li;
  }

  function addComment(c) {
    if (list.querySelector('li[data-id="' + c.id + '"]')) return;
    var stick = atBottom();
    list.appendChild(commentItem(c));
    while (list.children.length > 200) list.removeChild(list.firstChild);
    empty.hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function setComments(comments) {
    list.textContent = "";
    comments.forEach(function (c) { list.appendChild(commentItem(c)); });
    empty.hidden = comments.length > 0;
    list.scrollTop = list.scrollHeight;
  }

  function setRoom(r) {
    if (!r) return;
    if (r.status && r.status !== room.getAttribute("data-status")) {
      // The session started or ended: the page shows a different state, reload it once.
      window.location.reload();
      return;
    }
    // The picture: the waiting card until the encoder is on air, then the player (live.js).
    if (r.media && window.groupbuyLiveStage) window.groupbuyLiveStage.set(r.media);
    var card = document.getElementById("live-pinned");
    if (!card) return;
    if (r.pinned) {
      document.getElementById("live-pinned-name").textContent = r.pinned.name;
      document.getElementById("live-pinned-price").textContent = r.pinned.price_fen === null ? "" : gb.fen(r.pinned.price_fen);
      var img = document.getElementById("live-pinned-img");
      var placeholder = document.getElementById("live-pinned-ph");
      img.hidden = !r.pinned.image_url;
      placeholder.hidden = !!r.pinned.image_url;
      placeholder.textContent = (r.pinned.name || "").charAt(0);
      if (r.pinned.image_url) img.src = r.pinned.image_url;
      card.hidden = false;
      card.classList.remove("is-new");
      void card.offsetWidth;
      card.classList.add("is-new");
    } else {
      card.hidden = true;
    }
    var jielong = document.getElementById("live-jielong");
    if (r.jielong && r.jielong.url) {
      jielong.href = r.jielong.url;
      jielong.hidden = false;
    }
  }

  function showNote(text, isError) {
    if (!note) return;
    note.textContent = text;
    note.classList.toggle("is-error", !!isError);
    note.hidden = false;
    window.clearTimeout(showNote.timer);
    showNote.timer = window.setTimeout(function () { note.hidden = true; }, 4000);
  }

  function onMessage(m) {
    if (m.type === "signed_out" || m.type === "membership_revoked" || m.type === "access_changed") {
      // The server closes this socket for good; the page itself is no longer ours to show: reload it
      // (to the sign-in, or to the answer for someone no longer in the community).
      window.location.reload();
      return;
    }
    if (m.type === "unavailable") {
      // The server cannot serve the room's real time now (Redis away); it closes and we retry later.
      var unavailable = document.getElementById("live-unavailable");
      if (unavailable) unavailable.hidden = false;
      return;
    }
    if (m.type === "room") setRoom(m.room);
    else if (!list) return; // not live yet: only the room's status matters
    else if (m.type === "comments") setComments(m.comments);
    else if (m.type === "new_comments") m.comments.forEach(addComment);
    else if (m.type === "comment_removed") {
      var li = list.querySelector('li[data-id="' + m.comment_id + '"]');
      if (li) li.remove();
    } else if (m.type === "ack" && (m.action === "comment" || m.action === "ask")) {
      input.value = "";
      if (m.action === "ask") showNote(note.getAttribute("data-asked"), false);
      else if (m.comment) addComment(m.comment);
    } else if (m.type === "error") {
      showNote(m.message, true);
    }
  }

  if (ask && input) {
    ask.addEventListener("change", function () {
      var placeholder = input.getAttribute("placeholder");
      input.setAttribute("placeholder", input.getAttribute("data-placeholder-ask"));
      input.setAttribute("data-placeholder-ask", placeholder);
      form.classList.toggle("is-asking", ask.checked);
    });
  }
  if (form) {
    form.addEventListener("submit", function (event) {
      if (!socket.isOpen()) return; // the form posts the classic way
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      socket.send({ action: ask && ask.checked ? "ask" : "comment", data: { text: text } });
    });
  }
  // On a reconnect the server's snapshots (room, comments) replace what the page shows.
  socket = gb.socket(room.getAttribute("data-ws"), {
    onMessage: onMessage,
    onState: function (name) {
      room.setAttribute("data-live", name);
      // Connected: real time works again. Reconnecting (refused, dropped, Redis away): say so.
      var unavailable = document.getElementById("live-unavailable");
      if (unavailable) unavailable.hidden = name === "connected";
    },
  });
})();
