// What the unpruned model does in each MoE block on a few calibration batches: the router
// scores TopK ranks, every expert's output, and the block's output. With these a kept set of
// experts can be judged without running the model again (the block output is recomputed from
// the recorded expert outputs under the block's gate rule), and a merge can be judged by
// running the edited model and comparing block outputs.

import type { Graph, Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { runWithObserver } from '../calibration.js';
import type { MoeBlock } from '../structure/types.js';
import type { GateRule } from './routing.js';

/** The value an expert's routing weight multiplies (its output), if the block names it. */
function expertOutput(block: MoeBlock, index: number): Value | undefined {
  const x = block.experts.find((e) => e.index === index);
  const c = x?.combine;
  if (!c || !x.weight) return undefined;
  return c.inputs[0] === x.weight ? c.inputs[1] : c.inputs[0];
}

interface BlockRecord {
  /** Router scores [tokens, experts], per batch. */
  readonly scores: Float32Array[];
  readonly reference: Float32Array[];
  /** Per router column, per batch: the expert's output [tokens, width]. */
  readonly outputs: Float32Array[][];
}

export class CalibrationSamples {
  private readonly records = new Map<MoeBlock, BlockRecord>();

  constructor(
    private readonly blocks: readonly MoeBlock[],
    readonly batches: readonly ReadonlyMap<string, Tensor>[],
  ) {}

  /**
   * Run the batches through the unpruned `graph`, keeping what each block saw and did (every
   * expert's output only with `experts`: they take experts x the block output's memory).
   */
  record(graph: Graph, opts: { experts: boolean }): void {
    const sinks = new Map<Value, Float32Array[]>();
    for (const b of this.blocks) {
      const rec: BlockRecord = { scores: [], reference: [], outputs: [] };
      this.records.set(b, rec);
      sinks.set(b.topK.inputs[0]!, rec.scores);
      sinks.set(b.output, rec.reference);
      for (const x of b.experts) {
        const out = expertOutput(b, x.index);
        const list: Float32Array[] = [];
        rec.outputs[x.index] = list;
        if (out && opts.experts && b.form === 'dense') sinks.set(out, list);
      }
    }
    runWithObserver(graph, this.batches, new Set(sinks.keys()), (v, t) => sinks.get(v)!.push(t.toFloat32().slice()));
  }

  routerScores(b: MoeBlock): Float32Array | undefined {
    const parts = this.records.get(b)?.scores;
    return parts && parts.length > 0 ? concat(parts) : undefined;
  }

  /** The unpruned block's output on batches [from, to). */
  references(b: MoeBlock, from = 0, to = this.batches.length): Float32Array[] {
    return this.records.get(b)!.reference.slice(from, to);
  }

  /**
   * sum |y - ref|^2 / sum |ref|^2 of the value now computing block b's output, by running
   * `graph` on batches [from, to).
   */
  measuredError(graph: Graph, b: MoeBlock, output: Value, from = 0, to = this.batches.length): number {
    const refs = this.records.get(b)!.reference;
    let i = from;
    let diff = 0;
    let norm = 0;
    runWithObserver(graph, this.batches.slice(from, to), new Set([output]), (_, t) => {
      const y = t.toFloat32();
      const r = refs[i++]!;
      for (let j = 0; j < r.length; j++) {
        diff += (y[j]! - r[j]!) ** 2;
        norm += r[j]! ** 2;
      }
    });
    return norm > 0 ? diff / norm : 0;
  }

  /**
   * The same error, computed from the recorded expert outputs for the block keeping only
   * `kept` (router columns), with top-`k` routing under `rule`. Undefined when an expert's
   * output was not recorded (its output is not a Mul operand the block names).
   */
  simulatedError(b: MoeBlock, kept: readonly number[], k: number, rule: GateRule): number | undefined {
    const rec = this.records.get(b)!;
    if (b.form !== 'dense' || kept.some((e) => !rec.outputs[e] || rec.outputs[e]!.length !== rec.reference.length)) return undefined;
    const experts = rec.outputs.length;
    const take = Math.min(k, kept.length);
    const chosen = new Array<number>(take);
    const gates = new Float64Array(take);
    let diff = 0;
    let norm = 0;
    rec.reference.forEach((ref, batch) => {
      const scores = rec.scores[batch]!;
      const tokens = scores.length / experts;
      const width = ref.length / tokens;
      for (let t = 0; t < tokens; t++) {
        topK(scores, t * experts, kept, chosen);
        weigh(scores, t * experts, chosen, rule, gates);
        for (let d = 0; d < width; d++) {
          let y = 0;
          for (let i = 0; i < take; i++) y += gates[i]! * rec.outputs[chosen[i]!]![batch]![t * width + d]!;
          const r = ref[t * width + d]!;
          diff += (y - r) ** 2;
          norm += r * r;
        }
      }
    });
    return norm > 0 ? diff / norm : 0;
  }
}

/** The `chosen.length` kept columns with the highest scores (ties to the lower column, as TopK). */
function topK(scores: Float32Array, at: number, kept: readonly number[], chosen: number[]): void {
  chosen.fill(-1);
  for (const e of kept) {
    const s = scores[at + e]!;
    for (let i = 0; i < chosen.length; i++) {
      const c = chosen[i]!;
      if (c === -1 || s > scores[at + c]!) {
        chosen.splice(i, 0, e);
        chosen.length--;
        break;
      }
    }
  }
}

function weigh(scores: Float32Array, at: number, chosen: readonly number[], rule: GateRule, out: Float64Array): void {
  let total = 0;
  const top = scores[at + chosen[0]!]!;
  chosen.forEach((e, i) => {
    const s = scores[at + e]!;
    out[i] = rule === 'softmax' ? Math.exp(s - top) : s;
    total += out[i]!;
  });
  if (rule !== 'raw' && total > 0) for (let i = 0; i < chosen.length; i++) out[i]! /= total;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
