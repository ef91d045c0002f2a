// The chat page of `ml-intern serve`: plain JavaScript, no build step.
// A session is drawn from its checkpoint (GET /api/sessions/ID), then the running turn's events follow over
// SSE from the number the view gives; a reload or a lost connection does the same, so nothing is lost.
"use strict";
(function () {
  const $ = (selector) => document.querySelector(selector);
  // why a turn ended early, and how to go on (errors also come as their own event)
  const STOPPED = {
    max_iterations: "stopped at the iteration limit: send “continue” to go on",
    doom_loop: "stopped: the model kept repeating the same calls; say how to proceed differently",
  };
  const state = { me: null, sid: null, after: 0, source: null, bubble: null, bubbleText: "", running: false, poll: null };

  // -- requests ------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = (state.me && state.me.csrf) || "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401 && state.me && state.me.user) {  // the sign-in expired: sign in again
      location.reload();
    }
    if (!response.ok) {
      const message = (data && data.detail) ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : response.statusText;
      toast(message);
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function toast(text) {
    const box = $("#toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // -- drawing ---------------------------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function scrollDown() { const log = $("#log"); log.scrollTop = log.scrollHeight; }

  function addMessage(kind, text) {
    const node = el("div", "msg " + kind);
    if (kind === "assistant") node.innerHTML = window.renderMarkdown(text);
    else node.textContent = text;
    $("#log").appendChild(node);
    scrollDown();
    return node;
  }

  function short(value, limit) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length > limit ? text.slice(0, limit) + "…" : text;
  }

  function toolCard(id, name, args, agent) {
    let card = document.querySelector('.tool-card[data-id="' + CSS.escape(id) + '"]');
    if (card) return card;
    card = el("details", "tool-card");
    card.dataset.id = id;
    const summary = el("summary");
    summary.appendChild(el("span", "tool-name", (agent && agent !== "main" ? "[" + agent + "] " : "") + name));
    summary.appendChild(el("span", "tool-args", short(args || {}, 120)));
    summary.appendChild(el("span", "state", "pending"));
    card.appendChild(summary);
    const body = el("div", "tool-body");
    body.appendChild(el("pre", "args", JSON.stringify(args || {}, null, 2)));
    body.appendChild(el("pre", "logs"));
    body.appendChild(el("pre", "output"));
    card.appendChild(body);
    $("#log").appendChild(card);
    scrollDown();
    return card;
  }

  function setToolState(card, value) {
    const badge = card.querySelector(".state");
    badge.textContent = value;
    badge.className = "state " + value;
  }

  function setToolOutput(card, text, isError) {
    card.querySelector(".output").textContent = text || "";
    setToolState(card, isError ? (card.querySelector(".state").textContent === "rejected" ? "rejected" : "failed") : "done");
  }

  function drawPlan(todos) {
    const box = $("#plan");
    const list = box.querySelector("ol");
    list.innerHTML = "";
    (todos || []).forEach((todo) => {
      const item = el("li", "todo " + (todo.status || "pending"), todo.content || todo.title || JSON.stringify(todo));
      list.appendChild(item);
    });
    box.hidden = !(todos && todos.length);
  }

  function drawItems(items) {
    $("#log").innerHTML = "";
    for (const item of items) {
      if (item.kind === "tool") {
        const card = toolCard(item.id, item.name, item.args);
        if (item.output !== undefined) card.querySelector(".output").textContent = item.output;
        setToolState(card, item.state);
      } else {
        addMessage(item.kind, item.text);
      }
    }
  }

  // -- approvals -------------------------------------------------------------------------------------
  function drawApprovals(calls) {
    const box = $("#approvals");
    box.innerHTML = "";
    if (!calls || !calls.length) { box.hidden = true; return; }
    box.appendChild(el("h3", null, "Approval needed"));
    for (const call of calls) {
      const card = el("div", "approval-card");
      card.dataset.id = call.id;
      const head = el("div", "approval-head");
      head.appendChild(el("span", "tool-name", call.name));
      head.appendChild(el("span", "risk " + (call.risk || ""), call.risk || ""));
      card.appendChild(head);
      const details = Object.entries(call.details || {}).filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length));
      if (details.length) {
        const list = el("dl", "details");
        for (const [key, value] of details) {
          const usd = /_usd$/.test(key) && typeof value === "number";
          list.appendChild(el("dt", null, key.replace(/_usd$/, "").replace(/_/g, " ")));
          const shown = usd ? "$" + value.toFixed(2) : (typeof value === "string" ? value : JSON.stringify(value));
          list.appendChild(el("dd", key.indexOf("cost") >= 0 ? "cost" : null, shown));
        }
        card.appendChild(list);
      }
      const args = el("textarea", "args");
      args.value = JSON.stringify(call.args || {}, null, 2);
      args.readOnly = true;
      args.rows = Math.min(12, args.value.split("\n").length + 1);
      card.appendChild(args);
      const feedback = el("input", "feedback");
      feedback.placeholder = "Why not? (sent to the model with a rejection)";
      card.appendChild(feedback);
      const buttons = el("div", "buttons");
      const approve = el("button", "approve", "Approve");
      const reject = el("button", "reject danger", "Reject");
      const edit = el("button", "edit ghost", "Edit arguments");
      approve.type = reject.type = edit.type = "button";
      approve.onclick = () => choose(card, "approve");
      reject.onclick = () => choose(card, "reject");
      edit.onclick = () => { args.readOnly = false; args.focus(); choose(card, "edit"); };
      buttons.append(approve, reject, edit);
      card.appendChild(buttons);
      box.appendChild(card);
    }
    const send = el("button", "send-answers", "Send answers");
    send.id = "send-answers";
    send.type = "button";
    send.disabled = true;
    send.onclick = sendAnswers;
    box.appendChild(send);
    box.hidden = false;
    scrollDown();
  }

  function choose(card, action) {
    card.dataset.action = action;
    card.querySelectorAll(".buttons button").forEach((b) => b.classList.toggle("chosen", b.classList.contains(action)));
    const cards = [...document.querySelectorAll(".approval-card")];
    $("#send-answers").disabled = !cards.every((c) => c.dataset.action);
  }

  async function sendAnswers() {
    const decisions = {};
    for (const card of document.querySelectorAll(".approval-card")) {
      const action = card.dataset.action;
      const decision = { action };
      if (action === "reject") decision.feedback = card.querySelector(".feedback").value;
      if (action === "edit") {
        try { decision.args = JSON.parse(card.querySelector(".args").value); }
        catch (e) { toast("the edited arguments of " + card.dataset.id + " are not valid JSON"); return; }
      }
      decisions[card.dataset.id] = decision;
    }
    await api("POST", "/api/sessions/" + state.sid + "/approvals", { decisions });
    drawApprovals([]);
  }

  // -- events ----------------------------------------------------------------------------------------
  function setRunning(running) {
    state.running = running;
    $("#stop").hidden = !running;
    $("#send").disabled = running;
    $("#status").textContent = running ? "working…" : "";
  }

  function endBubble() { state.bubble = null; state.bubbleText = ""; }

  function handle(event) {
    if (typeof event.seq === "number") {
      if (event.seq <= state.after) return;  // seen before the stream was opened again
      state.after = event.seq;
    }
    const data = event.data || {};
    const main = !data.agent || data.agent === "main";
    switch (event.type) {
      case "resync":  // the server no longer has what came after our last event: redraw from the checkpoint
        openSession(state.sid).catch(() => {});
        break;
      case "processing":
        setRunning(true);
        if (data.prompt) addMessage("user", data.prompt);
        drawApprovals([]);
        loadSessions().catch(() => {});
        break;
      case "assistant_chunk":
        if (!main) break;
        if (!state.bubble) state.bubble = addMessage("assistant streaming", "");
        state.bubbleText += data.content;
        state.bubble.innerHTML = window.renderMarkdown(state.bubbleText);
        scrollDown();
        break;
      case "assistant_message":
        if (!main) break;
        if (state.bubble) {
          state.bubble.classList.remove("streaming");
          state.bubble.innerHTML = window.renderMarkdown(data.content || state.bubbleText);
          if (!(data.content || state.bubbleText).trim()) state.bubble.remove();
        } else if ((data.content || "").trim()) {
          addMessage("assistant", data.content);
        }
        endBubble();
        break;
      case "tool_call":
        endBubble();
        setToolState(toolCard(data.tool_call_id, data.name, data.args, data.agent), "running");
        break;
      case "tool_state_change": {
        const card = toolCard(data.tool_call_id, data.name, {}, data.agent);
        setToolState(card, data.state);
        break;
      }
      case "tool_log":
        if (data.tool_call_id) {
          const logs = toolCard(data.tool_call_id, "", {}, data.agent).querySelector(".logs");
          logs.textContent += data.line + "\n";
        } else {
          addMessage("note", data.line);
        }
        break;
      case "tool_output":
        setToolOutput(toolCard(data.tool_call_id, data.name, {}, data.agent), data.content, data.is_error);
        break;
      case "approval_required":
        endBubble();
        drawApprovals(data.calls);
        break;
      case "plan_update":
        drawPlan(data.todos);
        break;
      case "usage":
        $("#status").textContent = (state.running ? "working… " : "") + data.context_tokens + " tokens in context" + (data.cost_usd ? ", $" + data.cost_usd.toFixed(4) : "");
        break;
      case "error":
        addMessage("error", data.message);
        break;
      case "doom_loop":
        addMessage("note", "repeated calls detected (" + data.pattern + "): the model was told to change approach");
        break;
      case "compacted":
        addMessage("note", "context compacted: " + data.old_tokens + " → " + data.new_tokens + " tokens");
        break;
      case "interrupted":
        if (state.bubble) state.bubble.classList.remove("streaming");
        endBubble();
        addMessage("note", "stopped");
        break;
      case "turn_complete":
        setRunning(false);
        endBubble();
        if (STOPPED[data.status]) addMessage("note", STOPPED[data.status]);
        loadSessions();
        break;
      default:
        break;
    }
  }

  function follow() {
    if (state.source) state.source.close();
    const source = new EventSource("/api/sessions/" + encodeURIComponent(state.sid) + "/events?after=" + state.after);
    source.onmessage = (message) => handle(JSON.parse(message.data));
    state.source = source;
  }

  // -- sessions --------------------------------------------------------------------------------------
  async function loadSessions() {
    const data = await api("GET", "/api/sessions");
    const list = $("#sessions");
    list.innerHTML = "";
    for (const info of data.sessions) {
      const item = el("li", info.id === state.sid ? "current" : null);
      item.dataset.id = info.id;
      item.appendChild(el("span", "session-title", info.title || "(untitled)"));
      item.appendChild(el("span", "session-meta", info.status + " · " + new Date(info.updated_at * 1000).toLocaleString()));
      item.onclick = () => openSession(info.id);
      if (info.id === state.sid) $("#title").textContent = info.title || "(untitled)";
      list.appendChild(item);
    }
    return data.sessions;
  }

  async function openSession(sid) {
    if (state.source) { state.source.close(); state.source = null; }
    clearInterval(state.poll);
    state.sid = sid;
    endBubble();
    history.replaceState(null, "", sid ? "#s=" + encodeURIComponent(sid) : "#");
    if (!sid) {
      $("#log").innerHTML = "";
      $("#title").textContent = "New session";
      drawApprovals([]);
      drawPlan([]);
      setRunning(false);
      return;
    }
    const view = await api("GET", "/api/sessions/" + encodeURIComponent(sid));
    $("#title").textContent = view.session.title || "(untitled)";
    if (view.session.model) $("#model").value = view.session.model;
    drawItems(view.items);
    drawPlan(view.plan);
    drawApprovals(view.pending);
    state.after = view.after;
    setRunning(view.running);
    document.querySelectorAll("#sessions li").forEach((li) => li.classList.toggle("current", li.dataset.id === sid));
    follow();
    if (view.elsewhere) {  // another replica drives it: redraw from the checkpoint until it is done
      $("#status").textContent = "running on another server…";
      state.poll = setInterval(async () => {
        const again = await api("GET", "/api/sessions/" + encodeURIComponent(sid));
        if (!again.elsewhere) { clearInterval(state.poll); openSession(sid); }
        else drawItems(again.items);
      }, 2000);
    }
  }

  async function send(event) {
    event.preventDefault();
    const box = $("#prompt");
    const text = box.value.trim();
    if (!text || state.running) return;
    if (!state.sid) {
      const created = await api("POST", "/api/sessions", { model: $("#model").value });
      await openSession(created.session.id);
    }
    await api("POST", "/api/sessions/" + encodeURIComponent(state.sid) + "/messages", { text });
    box.value = "";
  }

  function bind() {
    $("#composer").addEventListener("submit", (e) => send(e).catch(() => {}));
    $("#prompt").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(e).catch(() => {}); }
    });
    $("#stop").onclick = () => api("POST", "/api/sessions/" + encodeURIComponent(state.sid) + "/stop").catch(() => {});
    $("#new-session").onclick = () => openSession(null);
    $("#undo").onclick = async () => {
      if (!state.sid) return;
      const done = await api("POST", "/api/sessions/" + encodeURIComponent(state.sid) + "/undo");
      await openSession(state.sid);
      const files = (done.undo.restored_files || []).length;
      toast("undone: " + (done.undo.removed_prompt || "the last turn") + (files ? " (" + files + " files restored)" : ""));
    };
    $("#fork").onclick = async () => {
      if (!state.sid) return;
      const child = await api("POST", "/api/sessions/" + encodeURIComponent(state.sid) + "/fork");
      await loadSessions();
      await openSession(child.session.id);
    };
    $("#export").onclick = () => { if (state.sid) window.location.href = "/api/sessions/" + encodeURIComponent(state.sid) + "/export"; };
    $("#delete").onclick = async () => {
      if (!state.sid || !window.confirm("Delete this session and its history?")) return;
      await api("DELETE", "/api/sessions/" + encodeURIComponent(state.sid));
      const sessions = await loadSessions();
      await openSession(sessions.length ? sessions[0].id : null);
    };
    $("#model").onchange = async () => {
      if (state.sid) await api("PUT", "/api/sessions/" + encodeURIComponent(state.sid) + "/model", { model: $("#model").value }).catch(() => {});
    };
  }

  async function start() {
    state.me = await api("GET", "/api/me");
    if (!state.me.user) {
      $("#signin-screen").hidden = false;
      $("#signin").href = state.me.login_url;
      return;
    }
    $("#app").hidden = false;
    $("#user").textContent = state.me.user.name;
    if (state.me.logout_url) { const out = $("#signout"); out.href = state.me.logout_url; out.hidden = false; }
    const picker = $("#model");
    for (const model of state.me.models) picker.appendChild(el("option", null, model));
    picker.value = state.me.default_model;
    bind();
    const sessions = await loadSessions();
    const wanted = new URLSearchParams(location.hash.slice(1)).get("s");
    const known = sessions.find((s) => s.id === wanted);
    await openSession(known ? known.id : (sessions.length ? sessions[0].id : null));
  }

  start().catch((e) => toast("could not start: " + e.message));
})();
