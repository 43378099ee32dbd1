// SPDX-License-Identifier: MIT
// The types of microlog serve's JSON answers, exactly as docs/API.md states
// them, and one small client. Nothing else in the UI talks to the server.

export type Us = number; // microseconds since the run's start

export interface FunctionInfo {
  name: string;
  file: string;
  line: number;
  module?: string;
  class?: string | null;
}
export type FunctionTable = Record<string, FunctionInfo>;

export interface RunInfo {
  id: string;
  label: string;
  start_unix_ns: number;
  duration_us: Us;
  live: boolean;
  complete: boolean;
  exit_status: number | null;
  bytes: number;
  threads: number;
  error: string | null;
  /** Runs of a central store: the host that recorded it. */
  host?: string;
}
export interface RunsAnswer {
  dir: string;
  labels: { label: string; runs: RunInfo[] }[];
  /** Set by a server of the central store (docs/STORE.md): runs are a page of its index. */
  store?: string;
  /** With store: how many runs match the text filter. */
  total?: number;
}

export interface SummaryThread {
  id: number;
  name: string;
  native_id?: number;
  samples: number;
  running: number;
  first_us: Us;
  last_us: Us;
}
export interface Summary {
  label: string;
  command: string | null;
  python: string | null;
  duration_s: number;
  complete: boolean;
  exit_status: number | null;
  interval_us: number;
  samples: number;
  threads: SummaryThread[];
  log_records: number;
}

export interface ChangesAnswer {
  live?: boolean;
  end_us: Us;
  bytes: number;
  threads: SummaryThread[];
  new_logs: number;
  logs: number;
  new_spans: number;
  series: number;
}

/** [start_us, end_us, depth, function_id, running, waiting, gil_wait?, ...more] */
export type SpanTuple = [Us, Us, number, number, number, number, ...number[]];
export interface TimelineThread {
  id: number;
  name: string;
  spans: SpanTuple[];
}
export interface TimelineAnswer {
  from: Us;
  to: Us;
  bucket_us: number;
  end_us: Us;
  threads: TimelineThread[];
  functions: FunctionTable;
}

/** [start_us, min, max, mean, count] */
export type Bucket = [Us, number, number, number, number];
export interface SeriesStats {
  min: number;
  max: number;
  mean: number;
  count: number;
}
export interface Series {
  id: number;
  name: string;
  unit: string;
  class: "status" | "metric";
  buckets: Bucket[];
  stats: SeriesStats;
}
export interface StatusAnswer {
  from: Us;
  to: Us;
  bucket_us: number;
  series: Series[];
}

export interface Frame {
  function: string;
  file: string;
  line: number;
}
export interface LogEntry {
  index: number;
  time_us: Us;
  level: number;
  level_name: string;
  thread: number;
  thread_name: string;
  source: string;
  text: string;
  stack: Frame[];
}
export interface LogsAnswer {
  total: number;
  offset: number;
  limit: number;
  entries: LogEntry[];
}

export interface FunctionRow extends FunctionInfo {
  id: number;
  calls: number;
  total_us: number;
  self_us: number;
  mean_us: number;
  max_us: number;
  running: number;
}
export interface TimedRow {
  name: string;
  file: string;
  line: number;
  calls: number;
  wall_us_total: number;
  wall_us_mean: number;
  wall_us_max: number;
  cpu_us_mean: number;
  mem_delta_mean: number;
  errors: number;
  anomalies: number;
}
export interface FunctionsAnswer {
  from: Us;
  to: Us;
  interval_us: number;
  samples: number;
  functions: FunctionRow[];
  timed: TimedRow[];
}

export interface SimilarCall {
  thread: number;
  start_us: Us;
  duration_us: number;
  anomaly: boolean;
}
export interface SpanAnswer {
  thread: number;
  depth: number;
  start_us: Us;
  end_us: Us;
  duration_us: number;
  running: number;
  waiting: number;
  gil_wait?: number; // of the waiting samples, those waiting for the GIL
  cpu_share: number;
  function: FunctionInfo & { id: number };
  caller: (FunctionInfo & { id: number }) | null;
  similar: {
    count: number;
    median_us: number;
    mad_us: number;
    threshold_us: number;
    anomalies: number;
    truncated: boolean;
    calls: SimilarCall[];
  };
  anomaly: boolean;
}

export interface GraphNode {
  id: string;
  module: string;
  class: string | null;
  total_us: number;
  self_us: number;
}
export interface GraphEdge {
  from: string;
  to: string;
  time_us: number;
  functions: string[];
}
export interface CallgraphAnswer {
  folded: boolean;
  total_us: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** [parent_index, function_id, total_samples, self_samples, running_samples] */
export type FlameNode = [number, number, number, number, number];
export interface FlamegraphAnswer {
  from: Us;
  to: Us;
  samples: number;
  nodes: FlameNode[];
  functions: FunctionTable;
  merged?: number;
}

export interface SearchAnswer {
  q: string;
  functions: { id: number; name: string; file: string; line: number; total_us: number }[];
  logs: { index: number; time_us: Us; text: string }[];
  series: { id: number; name: string }[];
  truncated: boolean;
}

export interface TipLink {
  title: string;
  url: string;
}
export interface ModuleTip {
  module: string;
  kind: "stdlib" | "third-party" | "program";
  share: number;
  links: TipLink[];
}
export interface Observation {
  kind: string; // gil, import, anomaly, open-file, leak, error, exit
  text: string;
  url: string | null;
}
export interface TipsAnswer {
  modules: ModuleTip[];
  observations: Observation[];
}

/** GET /explain: the prompt, whether the server has a model, a cached answer. */
export interface ExplainInfo {
  configured: boolean;
  model: string | null;
  prompt: string;
  answer: string | null;
}
/** POST /explain: the model's Markdown answer. */
export interface ExplainAnswer {
  answer: string;
  cached: boolean;
  model: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  body: T;
  endUs: number | null;
  live: boolean | null;
}

type Query = Record<string, string | number | undefined | null>;

function query(params: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

async function failure(res: Response): Promise<ApiError> {
  let msg = res.statusText;
  try {
    const e = (await res.json()) as { error?: string };
    if (e.error) msg = e.error;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, msg);
}

/** GET a JSON answer; throws ApiError with the server's one-line message. */
export async function getJson<T>(path: string, params: Query = {}, signal?: AbortSignal): Promise<Answer<T>> {
  const res = await fetch(path + query(params), { signal, credentials: "same-origin" });
  if (!res.ok) throw await failure(res);
  const endH = res.headers.get("X-Microlog-End-Us");
  const liveH = res.headers.get("X-Microlog-Live");
  return {
    body: (await res.json()) as T,
    endUs: endH === null ? null : Number(endH),
    live: liveH === null ? null : liveH === "1",
  };
}

/** POST a JSON body (the content type the server requires of a POST). */
export async function postJson<T>(path: string, body: unknown = {}): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** Path of one run's endpoint; the id's two parts are already URL-safe. */
export function runPath(id: string, view: string): string {
  return `/api/runs/${id}/${view}`;
}

export const api = {
  runs: (text?: string) => getJson<RunsAnswer>("/api/runs", { text }),
  summary: (id: string) => getJson<Summary>(runPath(id, "summary")),
  changes: (id: string, since: Us) => getJson<ChangesAnswer>(runPath(id, "changes"), { since }),
  timeline: (id: string, threads: number[], from: Us, to: Us, width: number, signal?: AbortSignal) =>
    getJson<TimelineAnswer>(runPath(id, "timeline"), { thread: threads.join(","), from, to, width }, signal),
  status: (id: string, from: Us, to: Us, width: number, signal?: AbortSignal) => getJson<StatusAnswer>(runPath(id, "status"), { from, to, width }, signal),
  logs: (id: string, p: { from?: Us; to?: Us; level?: number; q?: string; thread?: string; offset?: number; limit?: number }) =>
    getJson<LogsAnswer>(runPath(id, "logs"), p),
  functions: (id: string, from?: Us, to?: Us, thread?: string) => getJson<FunctionsAnswer>(runPath(id, "functions"), { from, to, thread }),
  span: (id: string, thread: number, at: Us, depth: number) => getJson<SpanAnswer>(runPath(id, "span"), { thread, at: Math.round(at), depth }),
  callgraph: (id: string) => getJson<CallgraphAnswer>(runPath(id, "callgraph")),
  flamegraph: (id: string, from?: Us, to?: Us, thread?: string) => getJson<FlamegraphAnswer>(runPath(id, "flamegraph"), { from, to, thread }),
  search: (id: string, q: string) => getJson<SearchAnswer>(runPath(id, "search"), { q }),
  tips: (id: string) => getJson<TipsAnswer>(runPath(id, "tips")),
  explainInfo: (id: string) => getJson<ExplainInfo>(runPath(id, "explain")),
  explain: (id: string) => postJson<ExplainAnswer>(runPath(id, "explain")),
};
