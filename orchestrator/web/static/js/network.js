// The network page: every media node from GET /v1/network (the
// orchestrator's reading of x/registry and x/verification): status, the
// quality score from QoS probes and clients, the last probe, the score
// over recent epochs as a chart, and the operator's claimable rewards.

const REFRESH_MS = 10_000;
const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** sparkline draws scores (oldest first, each 0…1) as an SVG line chart with a text alternative. */
export function sparkline(points) {
  const w = 160, h = 36, pad = 2;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", String(w));
  svg.setAttribute("height", String(h));
  svg.setAttribute("role", "img");
  const label = points.length
    ? `Score over ${points.length} epoch(s): ${points.map((p) => `epoch ${p.epoch} ${p.score.toFixed(2)}`).join(", ")}`
    : "No scored epoch yet";
  svg.setAttribute("aria-label", label);
  const floor = document.createElementNS(SVG, "line"); // the selector's quality floor
  floor.setAttribute("x1", "0");
  floor.setAttribute("x2", String(w));
  floor.setAttribute("y1", String(h / 2));
  floor.setAttribute("y2", String(h / 2));
  floor.setAttribute("class", "floor");
  svg.append(floor);
  if (points.length) {
    const step = points.length > 1 ? (w - 2 * pad) / (points.length - 1) : 0;
    const xy = points.map((p, i) => `${(pad + i * step).toFixed(1)},${(pad + (1 - p.score) * (h - 2 * pad)).toFixed(1)}`);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", xy.join(" "));
    line.setAttribute("class", "score");
    svg.append(line);
  }
  return svg;
}

function probeText(p) {
  if (!p) return "none yet";
  if (!p.connected) return `epoch ${p.epoch}: failed (${p.error || "no media"})`;
  return `epoch ${p.epoch}: ${(p.loss_permille / 10).toFixed(1)} % loss, ${p.rtt_ms} ms, ${p.bitrate_kbps}/${p.target_kbps} kbit/s`;
}

function render(nodes) {
  const rows = document.getElementById("network-rows");
  rows.replaceChildren();
  const media = nodes.filter((n) => n.type === "media");
  for (const n of media) {
    const tr = el("tr");
    tr.dataset.nodeId = n.id;
    tr.dataset.status = n.status;
    tr.dataset.score = String((n.health ? n.health.score : n.quality_score).toFixed(3));
    tr.append(el("td", n.region || "—"));
    const name = el("td");
    name.append(el("span", n.moniker || "(no name)"), el("code", ` ${n.id.slice(0, 8)}`));
    tr.append(name);
    tr.append(el("td", n.status, `state ${n.status}`));
    const score = n.health ? n.health.score : n.quality_score;
    const sc = el("td");
    const meter = el("meter");
    meter.min = 0;
    meter.max = 1;
    meter.low = 0.5;
    meter.optimum = 1;
    meter.value = score;
    meter.setAttribute("aria-label", `score ${score.toFixed(2)}`);
    sc.append(meter, el("span", ` ${score.toFixed(2)}`));
    tr.append(sc);
    tr.append(el("td", probeText(n.health && n.health.last_probe)));
    const chart = el("td");
    const history = n.health ? [...n.health.history].reverse() : [];
    chart.append(sparkline(history));
    tr.append(chart);
    const r = n.claimable_rewards;
    tr.append(el("td", r ? `${r.amount} ${r.denom}` : "—"));
    rows.append(tr);
  }
  const orchs = document.getElementById("orchestrators");
  orchs.replaceChildren(...nodes.filter((n) => n.type === "orchestrator").map((n) =>
    el("li", `${n.moniker || n.id.slice(0, 8)} (${n.region || "—"}): ${n.status}`)));
  document.getElementById("network").hidden = media.length === 0;
  document.getElementById("network-status").textContent = media.length
    ? `${media.length} media node(s); updated ${new Date().toLocaleTimeString()}`
    : "No media node is registered.";
}

async function refresh() {
  try {
    const res = await fetch("/v1/network", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    render(Array.isArray(data.nodes) ? data.nodes : []);
  } catch (e) {
    document.getElementById("network-status").textContent = `Could not read the network: ${e.message}`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
