// What structure recognition finds in a transformer graph: the residual stream, the norms that
// read it, and per layer the attention, MLP and MoE sublayers with the linear layers that make
// them up. The structural passes (slice, prune-heads, prune-neurons, prune-experts) work from
// this description, never from node names; what recognition cannot place it lists in
// `unrecognized` so a pass can leave it alone and say why.
//
// Recognition runs on the canonical graph (the `default` pipeline: LayerNormalization and
// RMSNorm as single nodes, MatMul+Add as Linear), with symbolic batch/sequence dims allowed.
// A "linear layer" below is a node passes/permute/layers.ts `linearLayer` accepts (Linear,
// MatMul or Gemm with a constant weight); its output channels are the weight's out axis.

import type { Node, Value } from '../../ir/graph.js';

export type NormKind = 'layernorm' | 'rmsnorm';

export interface Norm {
  readonly kind: NormKind;
  /** LayerNormalization or RMSNorm node (canonical form). */
  readonly node: Node;
  readonly input: Value;
  readonly output: Value;
  /** Constant per-channel scale (gamma) and, for LayerNorm, shift (beta). */
  readonly scale?: Value;
  readonly bias?: Value;
}

/**
 * Output channels [offset, offset + width) of a linear layer: a whole projection (offset 0,
 * width = all outputs) or one part of a fused one, taken by Split/Slice along the last axis.
 */
export interface ProjectionPart {
  readonly node: Node;
  readonly offset: number;
  readonly width: number;
  /** The activation carrying exactly this part (the Split/Slice output, or node.outputs[0]). */
  readonly value: Value;
}

export interface AttentionBlock {
  readonly kind: 'attention';
  /** The pre-norm reading the residual stream (absent for post-norm or norm-free blocks). */
  readonly norm?: Norm;
  /** What q, k and v read (the norm's output, or the stream value itself). */
  readonly input: Value;
  readonly q: ProjectionPart;
  readonly k: ProjectionPart;
  readonly v: ProjectionPart;
  /** q/k/v come from one fused projection. */
  readonly fused: boolean;
  /** The output projection (a linear layer reading the merged heads). */
  readonly out: Node;
  readonly heads: number;
  /** Key/value heads: equal to `heads` without grouped-query attention. */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly rotary: boolean;
  readonly causalMask: boolean;
  /** The attention-probability Softmax. */
  readonly softmax: Node;
  /** Reshape nodes splitting q, k, v into heads and merging the heads back before `out`. */
  readonly headReshapes: { readonly q: Node; readonly k: Node; readonly v: Node; readonly merge: Node };
  /** What the block adds to the residual stream (`out`'s output, after its bias). */
  readonly output: Value;
  /** The residual Add combining `output` with the stream (absent if not found). */
  readonly residualAdd?: Node;
  /** Post-norm models (BERT): the norm applied to the residual Add's output. */
  readonly postNorm?: Norm;
}

export type MlpActivation = 'gelu' | 'relu' | 'silu' | 'swiglu' | 'geglu' | 'other';

export interface MlpBlock {
  readonly kind: 'mlp';
  readonly norm?: Norm;
  readonly input: Value;
  /** The up projection (for gated MLPs: the one multiplied by the activated gate). */
  readonly up: Node;
  /** The gate projection of a gated MLP (SwiGLU/GeGLU): act(gate(x)) * up(x). */
  readonly gate?: Node;
  readonly down: Node;
  readonly activation: MlpActivation;
  /** Hidden (intermediate) width: up's output channels. */
  readonly hidden: number;
  readonly output: Value;
  readonly residualAdd?: Node;
  /** Post-norm models (BERT): the norm applied to the residual Add's output. */
  readonly postNorm?: Norm;
}

export interface Expert {
  readonly index: number;
  readonly up: Node;
  readonly gate?: Node;
  readonly down: Node;
  /** The expert's activation, as for an MLP block (recognition always sets it). */
  readonly activation?: MlpActivation;
  /** The value that scales this expert's output (its routing weight per token), if found. */
  readonly weight?: Value;
  /** The node applying that weight to the expert's output (a Mul), if found. */
  readonly combine?: Node;
}

export interface MoeBlock {
  readonly kind: 'moe';
  readonly norm?: Norm;
  readonly input: Value;
  /** The router: a linear layer with one output per expert. */
  readonly router: Node;
  readonly topK: Node;
  readonly k: number;
  readonly experts: readonly Expert[];
  /**
   * 'dense': every expert runs on every token and its output is scaled by a routing weight
   * that is zero when not selected (the common export of a loop over experts);
   * 'gathered': tokens are gathered per expert (Gather/ScatterND/NonZero forms).
   */
  readonly form: 'dense' | 'gathered';
  readonly output: Value;
  readonly residualAdd?: Node;
  /** Post-norm models (BERT): the norm applied to the residual Add's output. */
  readonly postNorm?: Norm;
}

export type Sublayer = AttentionBlock | MlpBlock | MoeBlock;

export interface TransformerLayer {
  readonly index: number;
  /** In graph order: usually attention then MLP or MoE. */
  readonly sublayers: readonly Sublayer[];
}

export interface Embedding {
  /** The Gather reading the token table. */
  readonly gather: Node;
  readonly table: Value;
  /** Learned position embeddings added to the token embeddings, if any. */
  readonly positions?: { readonly gather: Node; readonly table: Value; readonly add: Node };
  /** Further embeddings summed in after the positions (BERT's token types), in order. */
  readonly extra?: readonly { readonly gather: Node; readonly table: Value; readonly add: Node }[];
  /**
   * The first residual-stream value (token + position embeddings; after `norm` when the
   * model normalizes its embeddings, as BERT does). Always `stream.states[0]`.
   */
  readonly output: Value;
  /** A norm applied to the summed embeddings before the first layer (BERT). */
  readonly norm?: Norm;
}

export interface ResidualStream {
  readonly width: number;
  /**
   * The stream's values in order: the embedding output, then each residual Add's output.
   * Sublayer i reads states[i] (through its norm) and its residualAdd produces states[i + 1]
   * (for post-norm, states[i + 1] is the output of the sublayer's `postNorm`). The walk stops
   * at the first branch it cannot recognize, so this holds for every sublayer listed.
   */
  readonly states: readonly Value[];
  /** pre-norm (norm on the branch, GPT-2/Llama) or post-norm (norm after the Add, BERT). */
  readonly normPlacement: 'pre' | 'post';
}

export interface OutputHead {
  /** The linear layer (or MatMul with the transposed embedding table) producing logits. */
  readonly node: Node;
  /** The weight is the token embedding table. */
  readonly tied: boolean;
}

export interface Unrecognized {
  readonly node?: Node;
  readonly reason: string;
}

export interface ModelStructure {
  readonly embedding?: Embedding;
  readonly stream?: ResidualStream;
  readonly layers: readonly TransformerLayer[];
  readonly finalNorm?: Norm;
  readonly head?: OutputHead;
  readonly unrecognized: readonly Unrecognized[];
}
