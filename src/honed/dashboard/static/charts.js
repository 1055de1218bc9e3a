/* honed charts: a small SVG renderer for the plot payloads made by honed.plots._data.
 *
 * Every axis in a payload is {label, domain: [a, b], ticks: [[position, text], ...]} and
 * coordinates are linear positions on it, so this file needs no scale logic of its own.
 * Data never reaches innerHTML: every label and tooltip is set with textContent.
 * No dependencies; the same file renders the dashboard and the HTML exports of honed.plots.
 */
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, x, y, str, attrs) {
    const t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = String(str);
    return t;
  }
  // Tooltips and clicks are delegated to the chart: one attribute per mark instead of a
  // <title> element and a listener each, which keeps thousands of marks cheap to build.
  function tip(node, str) {
    node.setAttribute("data-tip", String(str));
  }
  let tipBox = null;
  function showTip(ev) {
    const t = ev.target.closest ? ev.target.closest("[data-tip]") : null;
    if (!t) return hideTip();
    if (!tipBox) {
      tipBox = document.createElement("div");
      tipBox.className = "hc-tip";
      document.body.appendChild(tipBox);
    }
    tipBox.textContent = t.getAttribute("data-tip");
    tipBox.style.display = "block";
    tipBox.style.left = ev.clientX + 12 + "px";
    tipBox.style.top = ev.clientY + 12 + "px";
  }
  function hideTip() { if (tipBox) tipBox.style.display = "none"; }
  function interactive(svg, opts) {
    svg.addEventListener("mousemove", showTip);
    svg.addEventListener("mouseleave", hideTip);
    if (opts.onTrial) {
      svg.classList.add("hc-click");
      svg.addEventListener("click", function (ev) {
        const t = ev.target.closest ? ev.target.closest("[data-n]") : null;
        if (t) opts.onTrial(Number(t.getAttribute("data-n")));
      });
    }
  }
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(5)));
  }

  // Viridis, by a few stops; t in [0, 1].
  const STOPS = [
    [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
  ];
  function viridis(t) {
    if (!isFinite(t)) t = 0;
    t = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(t));
    const f = t - i;
    const c = STOPS[i].map(function (a, k) { return Math.round(a + f * (STOPS[i + 1][k] - a)); });
    return "rgb(" + c.join(",") + ")";
  }
  // Colour by value so that the better end is always bright.
  function colorScale(values, direction) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    const span = hi > lo ? hi - lo : 1;
    const flip = direction === "maximize";
    return function (v) {
      const t = (v - lo) / span;
      return viridis(flip ? t : 1 - t);
    };
  }

  const M = { top: 28, right: 16, bottom: 42, left: 62 };

  function frame(container, kind, opts, margin) {
    const m = Object.assign({}, M, margin || {});
    const w = Math.max(240, opts.width || container.clientWidth || 560);
    const h = opts.height || 300;
    const svg = el("svg", {
      class: "hc-chart", "data-plot": kind, width: w, height: h,
      viewBox: "0 0 " + w + " " + h, role: "img",
    }, container);
    interactive(svg, opts);
    const iw = w - m.left - m.right, ih = h - m.top - m.bottom;
    const g = el("g", { transform: "translate(" + m.left + "," + m.top + ")" }, svg);
    return { svg: svg, g: g, iw: iw, ih: ih, w: w, h: h, m: m };
  }
  function scale(axis, a, b) {
    const d0 = axis.domain[0], d1 = axis.domain[1];
    const span = d1 - d0 || 1;
    return function (v) { return a + ((v - d0) / span) * (b - a); };
  }
  function axisX(f, axis, sx) {
    const g = el("g", { class: "hc-axis hc-x" }, f.g);
    el("line", { x1: 0, x2: f.iw, y1: f.ih, y2: f.ih, class: "hc-domain" }, g);
    for (const t of axis.ticks || []) {
      const x = sx(t[0]);
      if (x < -1 || x > f.iw + 1) continue;
      el("line", { x1: x, x2: x, y1: 0, y2: f.ih, class: "hc-grid" }, g);
      label(g, x, f.ih + 16, t[1], { "text-anchor": "middle" });
    }
    label(g, f.iw / 2, f.ih + 34, axis.label, { "text-anchor": "middle", class: "hc-label" });
  }
  function axisY(f, axis, sy) {
    const g = el("g", { class: "hc-axis hc-y" }, f.g);
    el("line", { x1: 0, x2: 0, y1: 0, y2: f.ih, class: "hc-domain" }, g);
    for (const t of axis.ticks || []) {
      const y = sy(t[0]);
      if (y < -1 || y > f.ih + 1) continue;
      el("line", { x1: 0, x2: f.iw, y1: y, y2: y, class: "hc-grid" }, g);
      label(g, -6, y + 4, t[1], { "text-anchor": "end" });
    }
    const yl = label(g, 0, 0, axis.label, { class: "hc-label", "text-anchor": "middle" });
    yl.setAttribute("transform", "translate(" + (-f.m.left + 14) + "," + f.ih / 2 + ") rotate(-90)");
  }
  function caption(f, text) {
    if (text) label(f.svg, f.w - 6, 12, text, { "text-anchor": "end", class: "hc-caption" });
  }
  function shown(p) {
    return p.n_shown !== undefined && p.n_total !== undefined && p.n_shown < p.n_total
      ? "showing " + p.n_shown + " of " + p.n_total : "";
  }
  function note(container, text) {
    const d = document.createElement("div");
    d.className = "hc-note";
    d.textContent = text;
    container.appendChild(d);
  }
  function onTrial(opts, node, number) {
    node.setAttribute("data-n", number);
  }

  const R = {};

  R.history = function (p, c, opts) {
    if (!p.number.length) return note(c, "No complete trials yet.");
    const f = frame(c, "history", opts);
    const sx = scale(p.x, 0, f.iw), sy = scale(p.y, f.ih, 0);
    axisX(f, p.x, sx); axisY(f, p.y, sy);
    let d = "";
    p.best.forEach(function (b, i) {
      d += (i ? "H" + sx(b[0]).toFixed(1) + "V" : "M" + sx(b[0]).toFixed(1) + ",") + sy(b[1]).toFixed(1);
    });
    const pts = el("g", { class: "hc-points" }, f.g);
    for (let i = 0; i < p.number.length; i++) {
      const dot = el("circle", {
        class: "pt", cx: sx(p.number[i]).toFixed(1), cy: sy(p.value[i]).toFixed(1), r: 3,
      }, pts);
      tip(dot, "trial " + p.number[i] + ": " + fmt(p.value[i]));
      onTrial(opts, dot, p.number[i]);
    }
    el("path", { class: "best", d: d }, f.g);
    caption(f, shown(p) || "best so far (" + p.direction + ")");
    return f.svg;
  };

  R.intermediate = function (p, c, opts) {
    if (!p.curves.length) return note(c, "No trial has reported intermediate values.");
    const f = frame(c, "intermediate", opts);
    const sx = scale(p.x, 0, f.iw), sy = scale(p.y, f.ih, 0);
    axisX(f, p.x, sx); axisY(f, p.y, sy);
    const g = el("g", null, f.g);
    for (const cv of p.curves) {
      let d = "";
      for (let i = 0; i < cv.step.length; i++) {
        d += (i ? "L" : "M") + sx(cv.step[i]).toFixed(1) + "," + sy(cv.value[i]).toFixed(1);
      }
      const cls = "curve " + cv.state.toLowerCase();
      const path = el("path", { class: cls, d: d }, g);
      tip(path, "trial " + cv.number + " (" + cv.state + ")");
      onTrial(opts, path, cv.number);
      if (cv.state === "PRUNED") {
        const n = cv.step.length - 1;
        const x = sx(cv.step[n]), y = sy(cv.value[n]);
        const mk = el("path", {
          class: "pruned-end", d: "M" + (x - 3) + "," + (y - 3) + "l6,6m0,-6l-6,6",
        }, g);
        tip(mk, "trial " + cv.number + " pruned at step " + cv.step[n]);
      }
      if (cv.prediction) {
        // the learning-curve scheduler's forecast of the final value, with its 95% band
        const pr = cv.prediction, n = cv.step.length - 1;
        const clampY = function (v) { return Math.min(Math.max(sy(v), 0), f.ih).toFixed(1); };
        const px = sx(pr.step).toFixed(1);
        const forecast = el("path", {
          class: "lc-pred",
          d: "M" + sx(cv.step[n]).toFixed(1) + "," + sy(cv.value[n]).toFixed(1) +
            "L" + px + "," + clampY(pr.mean) +
            "M" + px + "," + clampY(pr.low) + "V" + clampY(pr.high),
        }, g);
        tip(forecast, "trial " + cv.number + ": predicted final " + fmt(pr.mean) + " (95% " +
          fmt(pr.low) + " to " + fmt(pr.high) + ")" +
          (pr.p_beat_best === undefined ? "" : ", P(beats best) " + fmt(pr.p_beat_best)));
        onTrial(opts, forecast, cv.number);
      }
    }
    caption(f, shown(p) || "× = pruned" +
      (p.curves.some(function (cv) { return cv.prediction; }) ? ", dashed = predicted final value" : ""));
    return f.svg;
  };

  R.parallel = function (p, c, opts) {
    if (!p.lines.length) return note(c, "No complete trials yet.");
    const f = frame(c, "parallel", opts, { left: 30, right: 60, bottom: 24, top: 44 });
    const n = p.axes.length;
    const step = n > 1 ? f.iw / (n - 1) : 0;
    const color = colorScale(p.lines.map(function (l) { return l.value; }), p.direction);
    const g = el("g", { class: "hc-lines" }, f.g);
    const order = p.lines.slice().sort(function (a, b) {
      return p.direction === "maximize" ? a.value - b.value : b.value - a.value;
    });
    for (const ln of order) {
      let d = "", pen = false;
      ln.pos.forEach(function (u, i) {
        if (u === null) { pen = false; return; }
        d += (pen ? "L" : "M") + (i * step).toFixed(1) + "," + ((1 - u) * f.ih).toFixed(1);
        pen = true;
      });
      const path = el("path", { class: "line", d: d, stroke: color(ln.value) }, g);
      tip(path, "trial " + ln.number + ": " + fmt(ln.value));
      onTrial(opts, path, ln.number);
    }
    p.axes.forEach(function (ax, i) {
      const ag = el("g", { class: "axis-p hc-axis", transform: "translate(" + i * step + ",0)" }, f.g);
      el("line", { x1: 0, x2: 0, y1: 0, y2: f.ih, class: "hc-domain" }, ag);
      for (const t of ax.ticks) {
        const y = (1 - t[0]) * f.ih;
        el("line", { x1: -3, x2: 3, y1: y, y2: y, class: "hc-domain" }, ag);
        label(ag, 5, y + 4, t[1], { class: "hc-small" });
      }
      // Long names would run into the next axis: cut them to fit, full name in the tooltip.
      const room = Math.max(4, Math.floor((n > 1 ? step : f.iw) / 6.5));
      const short = ax.label.length > room ? ax.label.slice(0, room - 1) + "…" : ax.label;
      const name = label(ag, 0, -12, short, {
        "text-anchor": i === 0 ? "start" : i === n - 1 ? "end" : "middle", class: "hc-label",
      });
      tip(name, ax.label);
    });
    caption(f, shown(p));
    return f.svg;
  };

  R.slice = function (p, c, opts) {
    if (!p.panels.length) return note(c, "No parameters yet.");
    const wrap = document.createElement("div");
    wrap.className = "hc-multiples";
    c.appendChild(wrap);
    const w = opts.panelWidth || 300;
    const all = [];
    for (const pn of p.panels) for (const v of pn.value) all.push(v);
    for (const pn of p.panels) {
      const box = document.createElement("div");
      box.className = "hc-panel";
      wrap.appendChild(box);
      const f = frame(box, "slice", { width: w, height: opts.panelHeight || 220, onTrial: opts.onTrial }, { left: 56 });
      f.svg.setAttribute("data-param", pn.param);
      const sx = scale(pn.x, 0, f.iw), sy = scale(p.y, f.ih, 0);
      axisX(f, pn.x, sx); axisY(f, p.y, sy);
      const g = el("g", { class: "hc-points" }, f.g);
      const color = colorScale(pn.number, "maximize");
      for (let i = 0; i < pn.pos.length; i++) {
        const dot = el("circle", {
          class: "pt", cx: sx(pn.pos[i]).toFixed(1), cy: sy(pn.value[i]).toFixed(1), r: 2.5,
          fill: color(pn.number[i]),
        }, g);
        tip(dot, "trial " + pn.number[i] + ": " + fmt(pn.value[i]));
        onTrial(opts, dot, pn.number[i]);
      }
    }
    return wrap;
  };

  R.contour = function (p, c, opts) {
    if (!p.x_param) return note(c, p.note || "A contour plot needs two parameters.");
    if (!p.number.length) return note(c, "No complete trials yet.");
    const f = frame(c, "contour", Object.assign({ height: 320 }, opts), { right: 70 });
    const sx = scale(p.x, 0, f.iw), sy = scale(p.y, f.ih, 0);
    const color = colorScale(p.cells.map(function (k) { return k[4]; }).concat(p.value), p.direction);
    const cg = el("g", { class: "hc-cells" }, f.g);
    for (const k of p.cells) {
      el("rect", {
        class: "cell", x: sx(k[0]).toFixed(1), y: sy(k[1] + k[3]).toFixed(1),
        width: (sx(k[2]) - sx(0) + 0.6).toFixed(1), height: (sy(0) - sy(k[3]) + 0.6).toFixed(1),
        fill: color(k[4]),
      }, cg);
    }
    axisX(f, p.x, sx); axisY(f, p.y, sy);
    const g = el("g", { class: "hc-points" }, f.g);
    for (let i = 0; i < p.number.length; i++) {
      const dot = el("circle", {
        class: "pt", cx: sx(p.px[i]).toFixed(1), cy: sy(p.py[i]).toFixed(1), r: 2.5,
      }, g);
      tip(dot, "trial " + p.number[i] + ": " + fmt(p.value[i]));
      onTrial(opts, dot, p.number[i]);
    }
    // A colour bar.
    const vals = p.cells.map(function (k) { return k[4]; }).concat(p.value);
    const lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    const bar = el("g", { transform: "translate(" + (f.iw + 14) + ",0)" }, f.g);
    for (let i = 0; i < 40; i++) {
      const v = lo + ((hi - lo) * (39 - i)) / 39;
      el("rect", { x: 0, y: (i * f.ih) / 40, width: 10, height: f.ih / 40 + 0.5, fill: color(v) }, bar);
    }
    label(bar, 13, 8, fmt(hi), { class: "hc-small" });
    label(bar, 13, f.ih, fmt(lo), { class: "hc-small" });
    caption(f, shown(p));
    return f.svg;
  };

  R.importance = function (p, c, opts) {
    if (!p.names || !p.names.length) return note(c, p.note || "Not enough trials yet.");
    const rowH = 22;
    const f = frame(c, "importance", Object.assign({}, opts, {
      height: Math.max(120, p.names.length * rowH + 60),
    }), { left: 130 });
    const sx = scale(p.x, 0, f.iw);
    axisX(f, p.x, sx);
    const g = el("g", null, f.g);
    p.names.forEach(function (name, i) {
      const y = i * rowH + 4;
      const bar = el("rect", {
        class: "bar", x: 0, y: y, height: rowH - 6, width: Math.max(1, sx(p.values[i]) - sx(0)),
      }, g);
      tip(bar, name + ": " + fmt(p.values[i]));
      const lab = label(g, -6, y + rowH / 2, name.length > 18 ? name.slice(0, 17) + "…" : name, {
        "text-anchor": "end", class: "hc-small",
      });
      tip(lab, name);
      label(g, sx(p.values[i]) - sx(0) + 4, y + rowH / 2, fmt(p.values[i]), { class: "hc-small" });
    });
    return f.svg;
  };

  R.pareto = function (p, c, opts) {
    if (!p.number) return note(c, p.note || "A Pareto front needs two objectives.");
    if (!p.number.length) return note(c, "No complete trials yet.");
    const f = frame(c, "pareto", opts);
    const sx = scale(p.x, 0, f.iw), sy = scale(p.y, f.ih, 0);
    axisX(f, p.x, sx); axisY(f, p.y, sy);
    const g = el("g", { class: "hc-points" }, f.g);
    for (let i = 0; i < p.number.length; i++) {
      const cls = "pt" + (p.front[i] ? " front" : "") + (p.feasible[i] ? "" : " infeasible");
      const dot = el("circle", {
        class: cls, cx: sx(p.px[i]).toFixed(1), cy: sy(p.py[i]).toFixed(1), r: p.front[i] ? 4 : 3,
      }, g);
      tip(dot, "trial " + p.number[i] + ": (" + fmt(p.px[i]) + ", " + fmt(p.py[i]) + ")");
      onTrial(opts, dot, p.number[i]);
    }
    caption(f, p.n_front + " on the front" + (shown(p) ? "; " + shown(p) : ""));
    return f.svg;
  };

  function render(payload, container, opts) {
    container.replaceChildren();
    if (!payload) return null;
    if (payload.error) return note(container, payload.error);
    const fn = R[payload.kind];
    if (!fn) return note(container, "unknown plot");
    return fn(payload, container, opts || {});
  }

  global.HonedCharts = { render: render, fmt: fmt, viridis: viridis };
})(typeof window !== "undefined" ? window : this);
