import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and sums self time per function and per
 * area (the gateway's own code, each npm package, Node internals, GC), plus inclusive time of the
 * gateway's own functions (what each stage costs with everything it calls). The format: `nodes`
 * (call tree, each with a `callFrame` and `children`), `samples` (node ids) and `timeDeltas` (µs
 * before each sample).
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  startTime: number;
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  area: string;
  selfMs: number;
  /** Share of the profile's busy time (idle excluded). */
  percent: number;
}

export interface ProfileSummary {
  path: string;
  /** True when only the samples of the measured load were counted (start-up and warm-up left out). */
  isWindowed: boolean;
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  areas: { area: string; selfMs: number; percent: number }[];
  /** The gateway's own functions (`dist/`) by inclusive time: self plus everything they call. */
  gatewayInclusive: { name: string; where: string; totalMs: number; percent: number }[];
}

/**
 * The gateway runs as an esbuild bundle (decision 0012): frames in `dist/bundle/` are mapped back to
 * their source file and line through the bundle's source maps, so areas and functions read as the
 * modules they came from.
 */
function sourceMapper(): (frame: CallFrame) => CallFrame {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (file: string) => {
    if (!maps.has(file)) {
      let map: SourceMap | undefined;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = undefined;
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  return (frame) => {
    if (!frame.url.startsWith('file://') || !frame.url.includes('/dist/bundle/')) return frame;
    const file = fileURLToPath(frame.url);
    const entry = mapOf(file)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (!entry || !('originalSource' in entry)) return frame;
    const source = entry.originalSource.startsWith('file://')
      ? entry.originalSource
      : pathToFileURL(resolvePath(dirname(file), entry.originalSource)).href;
    return { ...frame, url: source, lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
  };
}

function areaOf(frame: CallFrame, root: string): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'v8/native (program)';
    return 'native';
  }
  if (url.startsWith('node:')) return 'node internals';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packageMatch) return packageMatch[1] as string;
  const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
  const folder = /^(?:dist|src)\/([^/]+)\//.exec(path);
  return folder ? `gateway ${folder[1]}/` : `gateway ${path}`;
}

function whereOf(frame: CallFrame, root: string): string {
  if (frame.url === '') return '';
  const path = frame.url.startsWith('file://') ? relative(root, new URL(frame.url).pathname) : frame.url;
  return `${path.replace(/^node_modules\//, '')}:${frame.lineNumber + 1}`;
}

/**
 * `window` is in microseconds of CLOCK_MONOTONIC (`process.hrtime.bigint() / 1000n` in the harness),
 * the clock of V8's sample timestamps on Linux; without it, or when no sample falls inside, the
 * whole profile counts.
 */
export function summarizeProfile(
  path: string,
  root: string,
  top: number,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const toSource = sourceMapper();
  const frames = new Map<number, CallFrame>();
  for (const node of profile.nodes) frames.set(node.id, toSource(node.callFrame));
  const collect = (isInWindow: (timestampUs: number) => boolean) => {
    const selfByNode = new Map<number, number>();
    let timestampUs = profile.startTime;
    // timeDeltas[i] is the time elapsed before sample i: charge it to the sample that just ended.
    for (let index = 0; index < profile.samples.length; index++) {
      const deltaUs = profile.timeDeltas[index] ?? 0;
      timestampUs += deltaUs;
      if (!isInWindow(timestampUs)) continue;
      const owner = profile.samples[index === 0 ? 0 : index - 1] as number;
      selfByNode.set(owner, (selfByNode.get(owner) ?? 0) + deltaUs);
    }
    return selfByNode;
  };
  let selfByNode = window ? collect((us) => us >= window.fromUs && us <= window.toUs) : new Map();
  const isWindowed = selfByNode.size > 0;
  if (!isWindowed) selfByNode = collect(() => true);
  const byFunction = new Map<string, { name: string; where: string; area: string; selfUs: number }>();
  const byArea = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, selfUs] of selfByNode) {
    const frame = frames.get(id);
    if (!frame) continue;
    const area = areaOf(frame, root);
    if (area === 'idle') {
      idleUs += selfUs;
      continue;
    }
    busyUs += selfUs;
    byArea.set(area, (byArea.get(area) ?? 0) + selfUs);
    const name = frame.functionName || '(anonymous)';
    const where = whereOf(frame, root);
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, area, selfUs: 0 };
    entry.selfUs += selfUs;
    byFunction.set(key, entry);
  }
  const inclusive = gatewayInclusiveTimes(profile, frames, selfByNode, root);
  const percent = (us: number) => (busyUs === 0 ? 0 : (100 * us) / busyUs);
  return {
    path,
    isWindowed,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...byFunction.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, top)
      .map((entry) => ({
        name: entry.name,
        where: entry.where,
        area: entry.area,
        selfMs: entry.selfUs / 1000,
        percent: percent(entry.selfUs),
      })),
    areas: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, percent: percent(us) })),
    gatewayInclusive: [...inclusive.values()]
      .sort((a, b) => b.totalUs - a.totalUs)
      .slice(0, top)
      .map((entry) => ({
        name: entry.name,
        where: entry.where,
        totalMs: entry.totalUs / 1000,
        percent: percent(entry.totalUs),
      })),
  };
}

function isGatewayCode(frame: CallFrame, root: string): boolean {
  if (!frame.url.startsWith('file://')) return false;
  const path = relative(root, new URL(frame.url).pathname);
  return path.startsWith('dist/') || path.startsWith('src/');
}

/** Charges each node's self time to every distinct gateway function on its path from the root. */
function gatewayInclusiveTimes(
  profile: CpuProfile,
  frames: Map<number, CallFrame>,
  selfByNode: Map<number, number>,
  root: string,
): Map<string, { name: string; where: string; totalUs: number }> {
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const totals = new Map<string, { name: string; where: string; totalUs: number }>();
  for (const [id, selfUs] of selfByNode) {
    if (frames.get(id)?.functionName === '(idle)') continue;
    const seen = new Set<string>();
    // Bounded by the tree's depth; a profile's call tree has no cycles.
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const frame = frames.get(current);
      if (!frame || !isGatewayCode(frame, root)) continue;
      const name = frame.functionName || '(anonymous)';
      const where = whereOf(frame, root);
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = totals.get(key) ?? { name, where, totalUs: 0 };
      entry.totalUs += selfUs;
      totals.set(key, entry);
    }
  }
  return totals;
}
