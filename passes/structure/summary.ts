// A plain-data form of a ModelStructure: node and value names instead of objects, for JSON
// output (`sparsec inspect --structure --json`) and for tests that compare against names.

import type { Node, Value } from '../../ir/graph.js';
import type { ModelStructure, Norm, ProjectionPart, Sublayer } from './types.js';

export interface NormSummary {
  kind: Norm['kind'];
  node: string;
}

export interface PartSummary {
  node: string;
  offset: number;
  width: number;
}

export type SublayerSummary =
  | {
      kind: 'attention';
      norm?: NormSummary;
      postNorm?: NormSummary;
      heads: number;
      kvHeads: number;
      headDim: number;
      fused: boolean;
      rotary: boolean;
      causalMask: boolean;
      q: PartSummary;
      k: PartSummary;
      v: PartSummary;
      out: string;
      softmax: string;
      residualAdd?: string;
    }
  | {
      kind: 'mlp';
      norm?: NormSummary;
      postNorm?: NormSummary;
      activation: string;
      up: string;
      gate?: string;
      down: string;
      hidden: number;
      residualAdd?: string;
    }
  | {
      kind: 'moe';
      norm?: NormSummary;
      postNorm?: NormSummary;
      form: 'dense' | 'gathered';
      router: string;
      topK: string;
      k: number;
      experts: { index: number; activation?: string; up: string; gate?: string; down: string; combine?: string }[];
      residualAdd?: string;
    };

export interface StructureSummary {
  embedding?: {
    gather: string;
    table: string;
    positions?: { gather: string; table: string };
    extra?: { gather: string; table: string }[];
    norm?: NormSummary;
    output: string;
  };
  stream?: { width: number; normPlacement: 'pre' | 'post'; states: string[] };
  layers: { index: number; sublayers: SublayerSummary[] }[];
  finalNorm?: NormSummary;
  head?: { node: string; tied: boolean };
  unrecognized: { node?: string; reason: string }[];
}

const name = (x: Node | Value) => x.name;

function norm(n: Norm | undefined): { norm?: NormSummary } {
  return n ? { norm: { kind: n.kind, node: n.node.name } } : {};
}

function optional<K extends string>(key: K, x: Node | Value | undefined): { [P in K]?: string } {
  return (x ? { [key]: x.name } : {}) as { [P in K]?: string };
}

function part(p: ProjectionPart): PartSummary {
  return { node: p.node.name, offset: p.offset, width: p.width };
}

function sublayer(s: Sublayer): SublayerSummary {
  const common = {
    ...norm(s.norm),
    ...(s.postNorm ? { postNorm: { kind: s.postNorm.kind, node: s.postNorm.node.name } } : {}),
  };
  switch (s.kind) {
    case 'attention':
      return {
        kind: 'attention',
        ...common,
        heads: s.heads,
        kvHeads: s.kvHeads,
        headDim: s.headDim,
        fused: s.fused,
        rotary: s.rotary,
        causalMask: s.causalMask,
        q: part(s.q),
        k: part(s.k),
        v: part(s.v),
        out: s.out.name,
        softmax: s.softmax.name,
        ...optional('residualAdd', s.residualAdd),
      };
    case 'mlp':
      return { kind: 'mlp', ...common, activation: s.activation, up: s.up.name, ...optional('gate', s.gate), down: s.down.name, hidden: s.hidden, ...optional('residualAdd', s.residualAdd) };
    case 'moe':
      return {
        kind: 'moe',
        ...common,
        form: s.form,
        router: s.router.name,
        topK: s.topK.name,
        k: s.k,
        experts: s.experts.map((e) => ({
          index: e.index,
          ...(e.activation ? { activation: e.activation } : {}),
          up: e.up.name,
          ...optional('gate', e.gate),
          down: e.down.name,
          ...optional('combine', e.combine),
        })),
        ...optional('residualAdd', s.residualAdd),
      };
  }
}

export function summarizeStructure(s: ModelStructure): StructureSummary {
  const e = s.embedding;
  return {
    ...(e
      ? {
          embedding: {
            gather: e.gather.name,
            table: e.table.name,
            ...(e.positions ? { positions: { gather: e.positions.gather.name, table: e.positions.table.name } } : {}),
            ...(e.extra ? { extra: e.extra.map((x) => ({ gather: x.gather.name, table: x.table.name })) } : {}),
            ...norm(e.norm),
            output: e.output.name,
          },
        }
      : {}),
    ...(s.stream ? { stream: { width: s.stream.width, normPlacement: s.stream.normPlacement, states: s.stream.states.map(name) } } : {}),
    layers: s.layers.map((l) => ({ index: l.index, sublayers: l.sublayers.map(sublayer) })),
    ...(s.finalNorm ? { finalNorm: { kind: s.finalNorm.kind, node: s.finalNorm.node.name } } : {}),
    ...(s.head ? { head: { node: s.head.node.name, tied: s.head.tied } } : {}),
    unrecognized: s.unrecognized.map((u) => ({ ...optional('node', u.node), reason: u.reason })),
  };
}
