// sparsec's library API: what the CLI, the bundler plugin and programs using sparsec import.
// Everything here throws SparsecError for user errors and never prints or exits; turn
// diagnostics into text with formatMessages.

// ---- models in and out ----
export { decodeModel, decodeTensorProto, encodeModel, encodeTensorProto, loadModel, saveModel } from './frontend/index.js';
export { readNpy, writeNpy } from './ir/npy.js';

// ---- the IR ----
export { GraphBuilder, floatAttr } from './ir/builder.js';
export type { DType } from './ir/dtype.js';
export { Graph, Model, Node, Value } from './ir/graph.js';
export type { Attr, AttrKind, Dim, Shape } from './ir/graph.js';
export { inferTypes } from './ir/infer.js';
export { Op } from './ir/ops.js';
export { printGraph } from './ir/printer.js';
export { Tensor } from './ir/tensor.js';
export { verify, verifyProblems } from './ir/verify.js';

// ---- running models ----
export { execute, executeValues, unsupportedNodes } from './ir/executor/index.js';
export type { ExecuteOptions } from './ir/executor/index.js';

// ---- passes ----
export { PassManager } from './passes/manager.js';
export { definePass } from './passes/pass.js';
export type { Pass, PassContext } from './passes/pass.js';
export { namedPipelines, parsePipeline, printPipeline } from './passes/pipeline.js';
export { allPasses } from './passes/registry.js';
export { specializeShapes } from './passes/specialize.js';

// ---- diagnostics ----
export { DiagnosticCode, SparsecError, formatDiagnostic, sortDiagnostics } from './ir/diagnostics.js';
export type { Diagnostic, Location } from './ir/diagnostics.js';
export { formatMessages } from './cli/format.js';
export type { FormatOptions } from './cli/format.js';
