import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  name: string;
  count: number;
  bytes: number;
}

/** Self size and count of the nodes of a V8 heap snapshot, grouped by type and constructor / closure name. */
export function heapGroups(file: string): Map<string, HeapGroup> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    const rawName = snap.strings[snap.nodes[i + nameAt]!] ?? '';
    let name: string;
    if (type === 'object' || type === 'closure' || type === 'native') name = `${type} ${rawName.slice(0, 60)}`;
    else name = `(${type})`;
    const group = groups.get(name) ?? { name, count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += snap.nodes[i + sizeAt]!;
    groups.set(name, group);
  }
  return groups;
}

/** What grew between two snapshots, per `per` units (e.g. per held long-poll), largest first. */
export function heapGrowth(
  before: string,
  after: string,
  per: number,
  top = 30,
): { name: string; countPer: number; bytesPer: number }[] {
  const a = heapGroups(before);
  const b = heapGroups(after);
  const rows: { name: string; countPer: number; bytesPer: number }[] = [];
  for (const [name, g] of b) {
    const base = a.get(name) ?? { count: 0, bytes: 0 };
    const bytes = g.bytes - base.bytes;
    if (bytes <= 0) continue;
    rows.push({
      name,
      countPer: Math.round(((g.count - base.count) / per) * 100) / 100,
      bytesPer: Math.round(bytes / per),
    });
  }
  return rows.sort((x, y) => y.bytesPer - x.bytesPer).slice(0, top);
}
