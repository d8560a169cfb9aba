/**
 * A hand-written SVG latency-distribution chart: latency (log scale) against
 * percentile on a tail-stretching axis (0, 50, 90, 99, 99.9 %), one line per
 * figure, so floors and server figures can be compared tail to tail.
 *
 * @module
 */
import type { Figure } from "./figures.ts";

const W = 960;
const H = 560;
const M = { left: 70, right: 330, top: 40, bottom: 60 };
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#ad494a",
];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** x position of quantile q: -log10(1 - q), capped at 99.9 %. */
function qx(q: number, maxNines: number): number {
  const v = -Math.log10(Math.max(1 - q, 10 ** -maxNines));
  return M.left + (v / maxNines) * (W - M.left - M.right);
}

/**
 * Renders the chart for figures that have samples (dashed lines: floors).
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("latency.svg", latencyChart(figures, "GAIA bench"));
 * ```
 */
export function latencyChart(figures: Figure[], title: string): string {
  const series = figures.filter((f) => (f.samples?.length ?? 0) >= 5);
  let min = 1;
  let max = 1;
  for (const f of series) {
    for (const v of f.samples!) {
      if (!(v > 0) || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, min)));
  const hi = 10 ** Math.ceil(Math.log10(max));
  const maxNines = 3;
  const y = (ms: number) => {
    const v = Math.log10(Math.min(hi, Math.max(lo, ms)));
    const t = (v - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return H - M.bottom - t * (H - M.top - M.bottom);
  };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
  );
  // Grid: latency decades (and 2, 5 in between), percentile ticks.
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi * 1.0001) break;
      const yy = y(v).toFixed(1);
      parts.push(
        `<line x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}" stroke="${
          m === 1 ? "#ccc" : "#eee"
        }"/>`,
        `<text x="${
          M.left - 6
        }" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#555">${
          v >= 1 ? v : v.toPrecision(1)
        }</text>`,
      );
    }
  }
  for (const q of [0, 0.5, 0.9, 0.99, 0.999]) {
    const xx = qx(q, maxNines).toFixed(1);
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${H - M.bottom}" stroke="#ddd"/>`,
      `<text x="${xx}" y="${H - M.bottom + 18}" text-anchor="middle" fill="#555">${
        q * 100
      }%</text>`,
    );
  }
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 16}" text-anchor="middle">percentile</text>`,
    `<text transform="translate(18 ${
      (M.top + H - M.bottom) / 2
    }) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${
      H - M.top - M.bottom
    }" fill="none" stroke="#888"/>`,
  );
  series.forEach((f, i) => {
    const s = [...f.samples!].filter(Number.isFinite).sort((a, b) => a - b);
    const color = COLORS[i % COLORS.length]!;
    // One point per 2 px of the percentile axis (nearest rank), plus the max.
    const pts: string[] = [];
    const x0 = M.left;
    const x1 = W - M.right;
    for (let px = x0; px <= x1; px += 2) {
      const q = 1 - 10 ** (-((px - x0) / (x1 - x0)) * maxNines);
      const k = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
      pts.push(`${px},${y(s[k]!).toFixed(1)}`);
    }
    pts.push(`${x1},${y(s[s.length - 1]!).toFixed(1)}`);
    const dash = f.group === "floor" ? ` stroke-dasharray="5 3"` : "";
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.6"${dash} points="${
        pts.join(" ")
      }"/>`,
    );
    const ly = M.top + 8 + i * 18;
    const lx = W - M.right + 14;
    parts.push(
      `<line x1="${lx}" x2="${
        lx + 24
      }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${esc(f.id)} (n=${
        f.summary?.n ?? s.length
      })</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
