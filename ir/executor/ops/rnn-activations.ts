// The activation functions RNN, GRU and LSTM name in their `activations` attribute, with the
// optional `activation_alpha` / `activation_beta` lists. As in onnxruntime, the lists are read
// in order by the functions that take a parameter (LeakyRelu takes one alpha, Relu none), and a
// function past the end of a list gets the default of the ONNX op of the same name.

import type { Node } from '../../graph.js';
import { badAttribute, unsupportedCase } from '../util.js';

export type Activation = (x: number) => number;

interface ActivationKind {
  /** Default alpha/beta; undefined = the function takes no such parameter. */
  readonly alpha?: number;
  readonly beta?: number;
  make(alpha: number, beta: number): Activation;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

// Keys are lower case: onnxruntime matches names case-insensitively.
const kinds: Record<string, ActivationKind> = {
  relu: { make: () => (x) => Math.max(0, x) },
  tanh: { make: () => Math.tanh },
  sigmoid: { make: () => sigmoid },
  affine: { alpha: 1, beta: 0, make: (a, b) => (x) => a * x + b },
  leakyrelu: { alpha: 0.01, make: (a) => (x) => (x >= 0 ? x : a * x) },
  thresholdedrelu: { alpha: 1, make: (a) => (x) => (x > a ? x : 0) },
  scaledtanh: { alpha: 1, beta: 1, make: (a, b) => (x) => a * Math.tanh(b * x) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (a, b) => (x) => Math.min(1, Math.max(0, a * x + b)) },
  elu: { alpha: 1, make: (a) => (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)) },
  softsign: { make: () => (x) => x / (1 + Math.abs(x)) },
  // log(1 + e^x) without overflow for large x.
  softplus: { make: () => (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))) },
};

function floatList(node: Node, name: string): number[] {
  const a = node.attr(name);
  if (!a) return [];
  if (a.kind === 'floats' || a.kind === 'ints') return a.value;
  if (a.kind === 'float' || a.kind === 'int') return [a.value];
  return badAttribute(node, `${name} must be a list of floats`);
}

/**
 * The activation functions of each direction: `defaults.length` functions (f, g, h) per
 * direction. A given list names them for every direction in order (forward, then reverse), as
 * onnxruntime requires. Unknown names are UNSUPPORTED_OP; a wrong count is BAD_ATTRIBUTE.
 */
export function rnnActivations(node: Node, defaults: readonly string[], directions: number): Activation[][] {
  const perDirection = defaults.length;
  const given = node.attrStrings('activations') ?? Array.from({ length: directions }, () => defaults).flat();
  if (given.length !== perDirection * directions) {
    badAttribute(node, `activations lists ${given.length} functions, expected ${perDirection} per direction (${perDirection * directions} in all)`);
  }
  const alphas = floatList(node, 'activation_alpha');
  const betas = floatList(node, 'activation_beta');
  let ai = 0;
  let bi = 0;
  const fns = given.map((name) => {
    const kind = kinds[name.toLowerCase()];
    if (!kind) unsupportedCase(node, `activation function '${name}'`);
    const alpha = kind.alpha === undefined ? 0 : ai < alphas.length ? alphas[ai++]! : kind.alpha;
    const beta = kind.beta === undefined ? 0 : bi < betas.length ? betas[bi++]! : kind.beta;
    return kind.make(alpha, beta);
  });
  return Array.from({ length: directions }, (_, d) => fns.slice(d * perDirection, (d + 1) * perDirection));
}
