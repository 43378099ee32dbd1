// SPDX-License-Identifier: MIT
// Number and time formatting shared by every view (pure functions).

export function fmtDuration(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${Math.round(us)} µs`;
  if (a < 1e6) return `${(us / 1000).toPrecision(3)} ms`;
  if (a < 60e6) return `${(us / 1e6).toPrecision(3)} s`;
  if (a < 3600e6) {
    const m = Math.floor(a / 60e6);
    const s = Math.floor((a % 60e6) / 1e6);
    return `${m} m ${String(s).padStart(2, "0")} s`;
  }
  const h = Math.floor(a / 3600e6);
  const m = Math.floor((a % 3600e6) / 60e6);
  return `${h} h ${String(m).padStart(2, "0")} m`;
}

/** A time since the run's start, with as many decimals as the step needs. */
export function fmtTime(us: number, step = 1000): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step / 1e6) + 1e-9)));
  if (us >= 60e6 && step >= 1e6) {
    const h = Math.floor(us / 3600e6);
    const m = Math.floor((us % 3600e6) / 60e6);
    const s = Math.floor((us % 60e6) / 1e6);
    const mm = String(m).padStart(h ? 2 : 1, "0");
    return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
  }
  return `${(us / 1e6).toFixed(decimals)} s`;
}

export function fmtBytes(n: number): string {
  const a = Math.abs(n);
  if (a < 1024) return `${Math.round(n)} B`;
  if (a < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (a < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function fmtValue(v: number, unit: string): string {
  if (unit === "bytes" || unit === "B") return fmtBytes(v);
  if (unit === "%") return `${v.toFixed(1)}%`;
  const a = Math.abs(v);
  const s = a >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : a >= 1e4 ? `${(v / 1e3).toFixed(1)} k` : a >= 100 ? v.toFixed(0) : v.toPrecision(3);
  return unit ? `${s} ${unit}` : s;
}

export function fmtPercent(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

export function levelName(level: number): string {
  if (level >= 50) return "critical";
  if (level >= 40) return "error";
  if (level >= 30) return "warning";
  if (level >= 20) return "info";
  if (level >= 10) return "debug";
  return "notset";
}

/** A run id's stamp 2026_12_01_08_50_00_1234 as "2026-12-01 08:50:00". */
export function fmtStamp(unixNs: number): string {
  const d = new Date(unixNs / 1e6);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
