/* honed dashboard front end: study list, study page with live plots and the trial table.
 * Plain DOM; every value from the server is written with textContent (never innerHTML). */
(function () {
  "use strict";
  const $main = document.getElementById("main");
  const $crumbs = document.getElementById("crumbs");
  const $live = document.getElementById("live");
  const params = new URLSearchParams(location.search);
  const POLL_MS = Math.max(200, Number(params.get("poll")) || 2000);
  const PAGE = 50;
  let info = { writable: false };
  let timer = null;
  let view = null; // the page being shown; has .poll() and .id
  const t0 = performance.now();

  function h(tag, attrs, children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === "text") e.textContent = String(v);
        else if (k === "cls") e.className = v;
        else if (k === "style") e.style.cssText = v; // CSSOM, allowed by the page's CSP
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children || []) if (c !== null && c !== undefined) e.appendChild(c);
    return e;
  }
  const fmt = function (v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return window.HonedCharts.fmt(v);
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  };
  function token() { return sessionStorage.getItem("honed-token") || ""; }

  // The token (when the dashboard has one) goes with every request; a write may send the
  // one typed in its own field instead, kept only once the server accepted it.
  async function api(path, init, withToken) {
    init = init || {};
    init.headers = Object.assign({ "Content-Type": "application/json" }, init.headers || {});
    const tok = withToken !== undefined ? withToken : token();
    if (tok) init.headers["X-Honed-Token"] = tok;
    const r = await fetch(path, init);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const err = new Error((body && body.error) || r.status + " " + r.statusText);
      err.status = r.status;
      throw err;
    }
    return body;
  }
  function setLive(ok) { $live.className = ok ? "live" : "live stale"; $live.textContent = ok ? "live" : "offline"; }
  function crumbs(parts) {
    $crumbs.replaceChildren();
    parts.forEach(function (p, i) {
      if (i) $crumbs.appendChild(document.createTextNode(" / "));
      $crumbs.appendChild(p.href ? h("a", { href: p.href, text: p.text }) : h("span", { text: p.text }));
    });
  }
  function stateBadge(s) { return h("span", { cls: "state state-" + s, text: s }); }
  function stat(k, v) {
    return h("div", { cls: "stat" }, [h("div", { cls: "k", text: k }), h("div", { cls: "v", text: v })]);
  }

  // ---- study list -----------------------------------------------------------------------
  function listView() {
    crumbs([{ text: "studies" }]);
    const body = h("tbody");
    const table = h("table", { cls: "data", id: "studies" }, [
      h("thead", null, [h("tr", null, ["study", "directions", "trials", "complete", "pruned", "failed", "running", "best", "created", "note"].map(function (c) { return h("th", { text: c }); }))]),
      body,
    ]);
    const empty = h("p", { cls: "muted", text: "No studies in this storage yet." });
    $main.replaceChildren(h("h1", { text: "Studies" }), h("div", { cls: "card wide" }, [h("div", { cls: "table-wrap" }, [table])]));
    async function poll() {
      const studies = await api("/api/studies");
      body.replaceChildren();
      for (const s of studies) {
        const st = s.states || {};
        body.appendChild(h("tr", { "data-study": s.id }, [
          h("td", null, [h("a", { href: "#/study/" + s.id, cls: "study-link", text: s.name })]),
          h("td", { text: s.directions.join(", ") }),
          h("td", { cls: "num", text: s.n_trials }),
          h("td", { cls: "num", text: st.COMPLETE || 0 }),
          h("td", { cls: "num", text: st.PRUNED || 0 }),
          h("td", { cls: "num", text: st.FAILED || 0 }),
          h("td", { cls: "num", text: st.RUNNING || 0 }),
          h("td", { cls: "num", text: s.best_values ? s.best_values.map(fmt).join(", ") : "" }),
          h("td", { text: s.created || "" }),
          h("td", { text: s.note || "" }),
        ]));
      }
      if (!studies.length) body.appendChild(h("tr", null, [h("td", { colspan: 10 }, [empty])]));
    }
    return { poll: poll };
  }

  // ---- study page -----------------------------------------------------------------------
  const PLOTS = [
    { kind: "history", title: "Optimization history" },
    { kind: "intermediate", title: "Intermediate values" },
    { kind: "parallel", title: "Parallel coordinates", wide: true },
    { kind: "slice", title: "Slice", wide: true },
    { kind: "contour", title: "Contour" },
    { kind: "importance", title: "Parameter importance" },
    { kind: "pareto", title: "Pareto front", multi: true },
  ];

  function studyView(id) {
    const base = "/api/studies/" + id;
    const state = { version: null, summary: null, objective: 0, objective2: 1, method: "ped-anova", cx: "", cy: "" };
    const table = { sort: "number", desc: true, q: "", state: "", offset: 0, data: null };
    const title = h("h1", { id: "study-title" });
    const sub = h("div", { cls: "sub" });
    const stats = h("div", { cls: "stats" });
    const controls = h("div", { cls: "toolbar" });
    const grid = h("div", { cls: "grid" });
    const cards = {};
    const admin = h("div", { cls: "card wide", id: "admin", style: "display:none" });
    for (const p of PLOTS) {
      const plot = h("div", { cls: "plot", id: "plot-" + p.kind });
      const head = h("div", { cls: "card-head" }, [h("h2", { text: p.title })]);
      const card = h("section", { cls: "card" + (p.wide ? " wide" : ""), id: "card-" + p.kind }, [head, plot]);
      cards[p.kind] = { card: card, head: head, plot: plot, spec: p, payload: null };
      grid.appendChild(card);
    }
    // Per-plot controls.
    const selX = h("select", { id: "contour-x", onchange: function () { state.cx = selX.value; loadPlot("contour"); } });
    const selY = h("select", { id: "contour-y", onchange: function () { state.cy = selY.value; loadPlot("contour"); } });
    cards.contour.head.append(h("label", { text: "x " }), selX, h("label", { text: "y " }), selY);
    const selM = h("select", { id: "importance-method", onchange: function () { state.method = selM.value; loadPlot("importance"); } }, [
      h("option", { value: "ped-anova", text: "PED-ANOVA (fast)" }), h("option", { value: "fanova", text: "fANOVA (forest)" }),
    ]);
    cards.importance.head.append(selM);
    const selP = h("select", { id: "pareto-y", onchange: function () { state.objective2 = Number(selP.value); loadPlot("pareto"); } });
    cards.pareto.head.append(h("label", { text: "vs " }), selP);

    // The trial table.
    const search = h("input", { type: "search", id: "trial-filter", placeholder: "filter: text, or x>0.5 state=COMPLETE value<1", oninput: debounce(function () { table.q = search.value; table.offset = 0; loadTable(); }, 250) });
    const stateSel = h("select", { id: "state-filter", onchange: function () { table.state = stateSel.value; table.offset = 0; loadTable(); } },
      [h("option", { value: "", text: "all states" })].concat(["COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING"].map(function (s) { return h("option", { value: s, text: s }); })));
    const thead = h("thead"), tbody = h("tbody");
    const pagerText = h("span", { id: "pager-text" });
    const prev = h("button", { id: "prev", text: "‹ prev", onclick: function () { table.offset = Math.max(0, table.offset - PAGE); loadTable(); } });
    const next = h("button", { id: "next", text: "next ›", onclick: function () { table.offset += PAGE; loadTable(); } });
    const detail = h("div", { cls: "detail", id: "trial-detail", style: "display:none" });
    const tableCard = h("section", { cls: "card wide", id: "card-trials" }, [
      h("div", { cls: "card-head" }, [h("h2", { text: "Trials" })]),
      h("div", { cls: "toolbar" }, [search, stateSel]),
      h("div", { cls: "table-wrap" }, [h("table", { cls: "data", id: "trials" }, [thead, tbody])]),
      h("div", { cls: "pager" }, [prev, next, pagerText]),
      detail,
    ]);
    $main.replaceChildren(title, sub, stats, controls, grid, h("div", { style: "height:16px" }), tableCard, h("div", { style: "height:16px" }), admin);

    function debounce(fn, ms) { let t = null; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }

    function plotQuery(kind) {
      const q = new URLSearchParams();
      if (state.objective) q.set("objective", state.objective);
      if (kind === "contour") { if (state.cx) q.set("x", state.cx); if (state.cy) q.set("y", state.cy); }
      if (kind === "importance") q.set("method", state.method);
      if (kind === "pareto") q.set("objective2", state.objective2);
      const s = q.toString();
      return s ? "?" + s : "";
    }
    async function loadPlot(kind) {
      const c = cards[kind];
      if (c.spec.multi && state.summary && state.summary.directions.length < 2) return;
      try {
        const payload = await api(base + "/plot/" + kind + plotQuery(kind));
        c.payload = payload;
        drawPlot(kind);
        if (kind === "contour" && payload.params) syncContourSelects(payload);
      } catch (e) {
        c.plot.replaceChildren(h("div", { cls: "err", text: String(e.message || e) }));
      }
    }
    function drawPlot(kind) {
      const c = cards[kind];
      const width = Math.max(280, c.plot.clientWidth - 4);
      window.HonedCharts.render(c.payload, c.plot, { width: width, onTrial: showTrial });
      if (!document.body.dataset.firstPlotMs && c.plot.querySelector("svg")) {
        document.body.dataset.firstPlotMs = String(Math.round(performance.now() - t0));
      }
    }
    function syncContourSelects(p) {
      for (const [sel, cur] of [[selX, p.x_param], [selY, p.y_param]]) {
        if (sel.options.length !== p.params.length) {
          sel.replaceChildren.apply(sel, p.params.map(function (n) { return h("option", { value: n, text: n }); }));
        }
        if (cur) sel.value = cur;
      }
    }
    function renderSummary(s) {
      title.textContent = s.name;
      crumbs([{ text: "studies", href: "#/" }, { text: s.name }]);
      document.title = s.name + " · honed";
      sub.textContent = s.directions.join(", ") + " · " + s.params.length + " parameters";
      const st = s.states;
      const kids = [stat("trials", s.n_trials), stat("complete", st.COMPLETE), stat("pruned", st.PRUNED), stat("failed", st.FAILED), stat("running", st.RUNNING)];
      if (s.best) kids.push(stat("best value (trial " + s.best.number + ")", fmt(s.best.values[0])));
      if (s.n_front !== null && s.n_front !== undefined) kids.push(stat("Pareto front", s.n_front + " trials"));
      stats.replaceChildren.apply(stats, kids);
      if (s.directions.length > 1 && !controls.childNodes.length) {
        const sel = h("select", { id: "objective", onchange: function () { state.objective = Number(sel.value); refreshAll(); } },
          s.objective_labels.map(function (l, i) { return h("option", { value: i, text: l + " (" + s.directions[i] + ")" }); }));
        controls.append(h("label", { text: "objective " }), sel);
        selP.replaceChildren.apply(selP, s.objective_labels.map(function (l, i) { return h("option", { value: i, text: l }); }));
        selP.value = "1";
      }
      cards.pareto.card.style.display = s.directions.length > 1 ? "" : "none";
      renderAdmin(s);
    }
    function renderAdmin(s) {
      if (!info.writable) return;
      if (admin.dataset.ready) return;
      admin.dataset.ready = "1";
      admin.style.display = "";
      const tok = h("input", { type: "password", id: "token", placeholder: "token", value: token() });
      const note = h("textarea", { id: "note" });
      note.value = s.note || "";
      const msg = h("span", { cls: "muted" });
      admin.replaceChildren(
        h("div", { cls: "card-head" }, [h("h2", { text: "Notes and actions" })]),
        h("div", { cls: "toolbar token" }, [h("label", { text: "write token " }), tok]),
        h("div", { cls: "note" }, [note]),
        h("div", { cls: "toolbar" }, [
          h("button", { id: "save-note", text: "Save note", onclick: async function () {
            try {
              await api(base + "/note", { method: "POST", body: JSON.stringify({ note: note.value }) }, tok.value);
              sessionStorage.setItem("honed-token", tok.value);
              msg.textContent = "saved";
            }
            catch (e) { msg.textContent = String(e.message); }
          } }),
          h("button", { cls: "danger", id: "delete-study", text: "Delete study", onclick: async function () {
            if (!window.confirm("Delete this study and all its trials?")) return;
            try {
              await api(base, { method: "DELETE" }, tok.value);
              sessionStorage.setItem("honed-token", tok.value);
              location.hash = "#/";
            }
            catch (e) { msg.textContent = String(e.message); }
          } }),
          msg,
        ]));
    }

    // ---- table ----
    function columns(d) {
      const cols = [{ key: "number", label: "#", get: function (r) { return r.number; }, num: true }, { key: "state", label: "state", get: function (r) { return r.state; } }];
      const nobj = d.n_objectives;
      for (let i = 0; i < nobj; i++) {
        const key = nobj === 1 ? "value" : "value" + i;
        cols.push({ key: key, label: nobj === 1 ? "value" : "value " + i, num: true, get: function (r) { return r.values ? r.values[i] : null; } });
      }
      cols.push({ key: "duration", label: "duration (s)", num: true, get: function (r) { return r.duration; } });
      for (const p of d.param_columns) cols.push({ key: "param:" + p, label: p, num: true, get: function (r) { return r.params[p]; } });
      for (const a of d.attr_columns) cols.push({ key: "attr:" + a, label: a, get: function (r) { return r.user_attrs[a]; } });
      cols.push({ key: "fail_reason", label: "fail reason", get: function (r) { return r.fail_reason; } });
      return cols;
    }
    async function loadTable() {
      const q = new URLSearchParams({ sort: table.sort, desc: table.desc ? "1" : "0", q: table.q, state: table.state, offset: table.offset, limit: PAGE });
      let d;
      try { d = await api(base + "/trials?" + q.toString()); }
      catch (e) { pagerText.textContent = String(e.message || e); return; }
      table.data = d;
      const cols = columns(d);
      thead.replaceChildren(h("tr", null, cols.map(function (c) {
        const cls = table.sort === c.key ? (table.desc ? "sorted-desc" : "sorted-asc") : null;
        const th = h("th", { cls: cls, "data-key": c.key, text: c.label, title: "sort by " + c.label, onclick: function () {
          if (table.sort === c.key) table.desc = !table.desc; else { table.sort = c.key; table.desc = false; }
          table.offset = 0; loadTable();
        } });
        return th;
      })));
      tbody.replaceChildren.apply(tbody, d.rows.map(function (r) {
        return h("tr", { "data-number": r.number, onclick: function () { showRow(r); } }, cols.map(function (c) {
          const v = c.get(r);
          if (c.key === "state") return h("td", null, [stateBadge(v)]);
          const td = h("td", { cls: c.num && typeof v === "number" ? "num" : null, text: fmt(v) });
          if (v !== null && v !== undefined && typeof v !== "number") td.title = fmt(v);
          return td;
        }));
      }));
      const a = d.filtered ? d.offset + 1 : 0, b = d.offset + d.rows.length;
      pagerText.textContent = "rows " + a + "–" + b + " of " + d.filtered + (d.filtered !== d.total ? " (filtered from " + d.total + ")" : "");
      prev.disabled = d.offset === 0;
      next.disabled = b >= d.filtered;
    }
    function showRow(r) {
      detail.style.display = "";
      detail.textContent = "trial " + r.number + "\n" + JSON.stringify(r, null, 2);
    }
    async function showTrial(number) {
      const q = new URLSearchParams({ q: "number=" + number, limit: 1 });
      const d = await api(base + "/trials?" + q.toString());
      if (d.rows.length) { showRow(d.rows[0]); detail.scrollIntoView({ block: "nearest" }); }
    }

    async function refreshAll() {
      // The history first, alone, so that something useful shows while the rest is built.
      await loadPlot("history");
      for (const p of PLOTS) if (p.kind !== "history") loadPlot(p.kind);
      loadTable();
    }
    async function poll() {
      const s = await api(base);
      state.summary = s;
      if (s.version !== state.version) {
        state.version = s.version;
        renderSummary(s);
        refreshAll();
      }
    }
    window.addEventListener("resize", debounce(function () {
      for (const k in cards) if (cards[k].payload) drawPlot(k);
    }, 200));
    return { poll: poll };
  }

  // ---- the token, when the dashboard was started with one ---------------------------------
  function loginView(message) {
    clearTimeout(timer);
    view = null;
    crumbs([{ text: "token needed" }]);
    const input = h("input", { type: "password", id: "login-token", placeholder: "token", autocomplete: "current-password" });
    function submit(ev) {
      ev.preventDefault();
      sessionStorage.setItem("honed-token", input.value);
      route();
    }
    $main.replaceChildren(
      h("h1", { text: "Token needed" }),
      h("div", { cls: "card wide", id: "login" }, [
        h("p", { text: "This dashboard was started with a token. Enter it to see the studies; it is kept for this tab only." }),
        message ? h("p", { cls: "err", id: "login-error", text: message }) : null,
        h("form", { cls: "toolbar", onsubmit: submit }, [input, h("button", { id: "login-button", type: "submit", text: "Open" })]),
      ]));
    input.focus();
  }

  // ---- routing and polling ----------------------------------------------------------------
  async function tick() {
    const v = view;
    try {
      await v.poll();
      setLive(true);
    } catch (e) {
      setLive(false);
      if (v === view && e.status === 401) {
        loginView(token() ? "That token was refused." : "");
        return;
      }
      if (v === view && String(e.message).indexOf("no study") >= 0) {
        $main.replaceChildren(h("p", { cls: "err", text: String(e.message) }), h("a", { href: "#/", text: "back to the studies" }));
        return;
      }
    }
    if (v === view) timer = setTimeout(tick, POLL_MS);
  }
  function route() {
    clearTimeout(timer);
    delete document.body.dataset.firstPlotMs;
    if (info.token_required && !token()) { loginView(""); return; }
    const m = location.hash.match(/^#\/study\/(\d+)/);
    view = m ? studyView(Number(m[1])) : listView();
    tick();
  }
  async function start() {
    try { info = await api("/api/info"); } catch (e) { info = { writable: false }; }
    document.getElementById("mode").textContent = "honed " + (info.version || "") + " · " + (info.writable ? "writable with token" : "read-only");
    window.addEventListener("hashchange", route);
    route();
  }
  start();
})();
