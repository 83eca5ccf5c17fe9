import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  /** Self time by package / area (node_modules/<pkg>, src/<dir>, node internals, GC…). */
  byArea: ProfileRow[];
  /** The functions with the most self time. */
  topSelf: ProfileRow[];
  /** Inclusive (self + callees) time of the project's own functions. */
  topInclusiveProject: ProfileRow[];
}

function where(url: string): string {
  if (!url) return '';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm >= 0) return clean.slice(nm + 1);
  const root = path.resolve(__dirname, '..', '..');
  const rel = clean.startsWith(root) ? clean.slice(root.length + 1) : clean;
  // Servers run from bench/.build/<pid>/ (tsc output): name their files as in the source tree.
  const built = /^bench\/\.build\/\d+\/(.*)$/.exec(rel);
  return built ? built[1]! : rel;
}

function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = clean.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  if (clean.startsWith('node:')) return 'node internals';
  const parts = where(url).split('/');
  if (['src', 'bench', 'test'].includes(parts[0]!))
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts.join('/');
  return parts.join('/');
}

const label = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`.trim();

export interface ProfileWindow {
  /** process.hrtime in µs (CLOCK_MONOTONIC, the clock V8 stamps profile samples with) in the profiled process. */
  fromUs: number;
  toUs: number;
}

/**
 * Self and inclusive time from a V8 .cpuprofile (what node --cpu-prof writes), counting only the
 * samples inside `window` when one is given (the load, without start-up and warm-up).
 */
export function summariseProfile(file: string, window?: ProfileWindow, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const inWindow = sampleFilter(profile, window);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (inWindow(i)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  let idle = 0;
  let total = 0;
  const selfByLabel = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    total += micros;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    selfByLabel.set(label(node), (selfByLabel.get(label(node)) ?? 0) + micros);
    selfByArea.set(area(node), (selfByArea.get(area(node)) ?? 0) + micros);
    // Inclusive time of project functions: each distinct project frame on the stack counts once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      const rel = where(frame.callFrame.url);
      if (!/^(src|bench)\//.test(rel)) continue;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  }
  const busy = total - idle;
  const rows = (map: Map<string, number>, n: number): ProfileRow[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => ({
        name,
        ms: Math.round(micros / 100) / 10,
        pct: Math.round((micros / Math.max(busy, 1)) * 1000) / 10,
      }));
  return {
    file,
    wallMs: Math.round(
      (window
        ? Math.min(window.toUs, profile.endTime) - Math.max(window.fromUs, profile.startTime)
        : profile.endTime - profile.startTime) / 1000,
    ),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    byArea: rows(selfByArea, 20),
    topSelf: rows(selfByLabel, top),
    topInclusiveProject: rows(inclusive, top),
  };
}

function sampleFilter(profile: CpuProfile, window: ProfileWindow | undefined): (i: number) => boolean {
  if (!window) return () => true;
  const at: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) {
    t += delta;
    at.push(t);
  }
  return (i) => at[i]! >= window.fromUs && at[i]! <= window.toUs;
}

/** The call paths (innermost first, `depth` frames) that lead to self time in functions whose label contains `name`. */
export function callersOf(file: string, name: string, window?: ProfileWindow, depth = 8, top = 10): ProfileRow[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const inWindow = sampleFilter(profile, window);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const paths = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    if (!inWindow(i)) return;
    const delta = profile.timeDeltas[i] ?? 0;
    if (byId.get(id)!.callFrame.functionName !== '(idle)') busy += delta;
    if (!label(byId.get(id)!).includes(name)) return;
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined && frames.length < depth; at = parent.get(at)) {
      const frame = byId.get(at)!;
      if (frame.callFrame.functionName === '(root)') break;
      frames.push(label(frame));
    }
    const key = frames.join('  <-  ');
    paths.set(key, (paths.get(key) ?? 0) + delta);
  });
  return [...paths.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([path, micros]) => ({
      name: path,
      ms: Math.round(micros / 100) / 10,
      pct: Math.round((micros / Math.max(busy, 1)) * 1000) / 10,
    }));
}

export function formatProfile(summary: ProfileSummary): string {
  const table = (title: string, rows: ProfileRow[]) =>
    [
      `  ${title}`,
      ...rows.map((r) => `    ${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(8)} ms  ${r.name}`),
    ].join('\n');
  return [
    `${summary.file}: wall ${summary.wallMs} ms, busy ${summary.busyMs} ms, idle ${summary.idleMs} ms (percentages of busy time)`,
    table('self time by area', summary.byArea),
    table('top self time', summary.topSelf),
    table('inclusive time of project functions', summary.topInclusiveProject),
  ].join('\n');
}

// tsx bench/lib/profile.ts FILE.cpuprofile [--window=FROM_US,TO_US] [--callers=NAME…]
if (require.main === module) {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('--'));
  const windowArg = args
    .find((a) => a.startsWith('--window='))
    ?.slice('--window='.length)
    .split(',')
    .map(Number);
  const window = windowArg && windowArg.length === 2 ? { fromUs: windowArg[0]!, toUs: windowArg[1]! } : undefined;
  const callers = args.filter((a) => a.startsWith('--callers=')).map((a) => a.slice('--callers='.length));
  if (files.length === 0) {
    process.stderr.write(
      'usage: tsx bench/lib/profile.ts FILE.cpuprofile [--window=FROM_US,TO_US] [--callers=NAME]…\n',
    );
    process.exit(2);
  }
  for (const file of files) {
    process.stdout.write(`${formatProfile(summariseProfile(file, window))}\n`);
    for (const name of callers) {
      process.stdout.write(`  callers of ${name}:\n`);
      for (const row of callersOf(file, name, window))
        process.stdout.write(`    ${String(row.pct).padStart(5)}%  ${String(row.ms).padStart(8)} ms  ${row.name}\n`);
    }
    process.stdout.write('\n');
  }
}
