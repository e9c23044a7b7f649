// The closed op set of the IR. ONNX `op_type` strings are mapped onto it in frontend/ and
// back in frontend/export; passes and codegen only ever compare against these constants.
//
// ONNX ops keep their ONNX names and their opset-21 semantics: the frontend upgrades older
// opset forms (Slice with attributes, Softmax's 2-D coercion, Upsample, ...) on import, so
// every other module sees exactly one meaning per op.

/** Standard ai.onnx operators, as of opset 21. */
export const OnnxOp = {
  Abs: 'Abs',
  Acos: 'Acos',
  Acosh: 'Acosh',
  Add: 'Add',
  AffineGrid: 'AffineGrid',
  And: 'And',
  ArgMax: 'ArgMax',
  ArgMin: 'ArgMin',
  Asin: 'Asin',
  Asinh: 'Asinh',
  Atan: 'Atan',
  Atanh: 'Atanh',
  AveragePool: 'AveragePool',
  BatchNormalization: 'BatchNormalization',
  Bernoulli: 'Bernoulli',
  BitShift: 'BitShift',
  BitwiseAnd: 'BitwiseAnd',
  BitwiseNot: 'BitwiseNot',
  BitwiseOr: 'BitwiseOr',
  BitwiseXor: 'BitwiseXor',
  BlackmanWindow: 'BlackmanWindow',
  Cast: 'Cast',
  CastLike: 'CastLike',
  Ceil: 'Ceil',
  Celu: 'Celu',
  CenterCropPad: 'CenterCropPad',
  Clip: 'Clip',
  Col2Im: 'Col2Im',
  Compress: 'Compress',
  Concat: 'Concat',
  ConcatFromSequence: 'ConcatFromSequence',
  Constant: 'Constant',
  ConstantOfShape: 'ConstantOfShape',
  Conv: 'Conv',
  ConvInteger: 'ConvInteger',
  ConvTranspose: 'ConvTranspose',
  Cos: 'Cos',
  Cosh: 'Cosh',
  CumSum: 'CumSum',
  DFT: 'DFT',
  DeformConv: 'DeformConv',
  DepthToSpace: 'DepthToSpace',
  DequantizeLinear: 'DequantizeLinear',
  Det: 'Det',
  Div: 'Div',
  Dropout: 'Dropout',
  DynamicQuantizeLinear: 'DynamicQuantizeLinear',
  Einsum: 'Einsum',
  Elu: 'Elu',
  Equal: 'Equal',
  Erf: 'Erf',
  Exp: 'Exp',
  Expand: 'Expand',
  EyeLike: 'EyeLike',
  Flatten: 'Flatten',
  Floor: 'Floor',
  GRU: 'GRU',
  Gather: 'Gather',
  GatherElements: 'GatherElements',
  GatherND: 'GatherND',
  Gelu: 'Gelu',
  Gemm: 'Gemm',
  GlobalAveragePool: 'GlobalAveragePool',
  GlobalLpPool: 'GlobalLpPool',
  GlobalMaxPool: 'GlobalMaxPool',
  Greater: 'Greater',
  GreaterOrEqual: 'GreaterOrEqual',
  GridSample: 'GridSample',
  GroupNormalization: 'GroupNormalization',
  HammingWindow: 'HammingWindow',
  HannWindow: 'HannWindow',
  HardSigmoid: 'HardSigmoid',
  HardSwish: 'HardSwish',
  Hardmax: 'Hardmax',
  Identity: 'Identity',
  If: 'If',
  ImageDecoder: 'ImageDecoder',
  InstanceNormalization: 'InstanceNormalization',
  IsInf: 'IsInf',
  IsNaN: 'IsNaN',
  LRN: 'LRN',
  LSTM: 'LSTM',
  LayerNormalization: 'LayerNormalization',
  LeakyRelu: 'LeakyRelu',
  Less: 'Less',
  LessOrEqual: 'LessOrEqual',
  Log: 'Log',
  LogSoftmax: 'LogSoftmax',
  Loop: 'Loop',
  LpNormalization: 'LpNormalization',
  LpPool: 'LpPool',
  MatMul: 'MatMul',
  MatMulInteger: 'MatMulInteger',
  Max: 'Max',
  MaxPool: 'MaxPool',
  MaxRoiPool: 'MaxRoiPool',
  MaxUnpool: 'MaxUnpool',
  Mean: 'Mean',
  MeanVarianceNormalization: 'MeanVarianceNormalization',
  MelWeightMatrix: 'MelWeightMatrix',
  Min: 'Min',
  Mish: 'Mish',
  Mod: 'Mod',
  Mul: 'Mul',
  Multinomial: 'Multinomial',
  Neg: 'Neg',
  NegativeLogLikelihoodLoss: 'NegativeLogLikelihoodLoss',
  NonMaxSuppression: 'NonMaxSuppression',
  NonZero: 'NonZero',
  Not: 'Not',
  OneHot: 'OneHot',
  Optional: 'Optional',
  OptionalGetElement: 'OptionalGetElement',
  OptionalHasElement: 'OptionalHasElement',
  Or: 'Or',
  PRelu: 'PRelu',
  Pad: 'Pad',
  Pow: 'Pow',
  QLinearConv: 'QLinearConv',
  QLinearMatMul: 'QLinearMatMul',
  QuantizeLinear: 'QuantizeLinear',
  RNN: 'RNN',
  RandomNormal: 'RandomNormal',
  RandomNormalLike: 'RandomNormalLike',
  RandomUniform: 'RandomUniform',
  RandomUniformLike: 'RandomUniformLike',
  Range: 'Range',
  Reciprocal: 'Reciprocal',
  ReduceL1: 'ReduceL1',
  ReduceL2: 'ReduceL2',
  ReduceLogSum: 'ReduceLogSum',
  ReduceLogSumExp: 'ReduceLogSumExp',
  ReduceMax: 'ReduceMax',
  ReduceMean: 'ReduceMean',
  ReduceMin: 'ReduceMin',
  ReduceProd: 'ReduceProd',
  ReduceSum: 'ReduceSum',
  ReduceSumSquare: 'ReduceSumSquare',
  RegexFullMatch: 'RegexFullMatch',
  Relu: 'Relu',
  Reshape: 'Reshape',
  Resize: 'Resize',
  ReverseSequence: 'ReverseSequence',
  RoiAlign: 'RoiAlign',
  Round: 'Round',
  STFT: 'STFT',
  Scan: 'Scan',
  Scatter: 'Scatter',
  ScatterElements: 'ScatterElements',
  ScatterND: 'ScatterND',
  Selu: 'Selu',
  SequenceAt: 'SequenceAt',
  SequenceConstruct: 'SequenceConstruct',
  SequenceEmpty: 'SequenceEmpty',
  SequenceErase: 'SequenceErase',
  SequenceInsert: 'SequenceInsert',
  SequenceLength: 'SequenceLength',
  SequenceMap: 'SequenceMap',
  Shape: 'Shape',
  Shrink: 'Shrink',
  Sigmoid: 'Sigmoid',
  Sign: 'Sign',
  Sin: 'Sin',
  Sinh: 'Sinh',
  Size: 'Size',
  Slice: 'Slice',
  Softmax: 'Softmax',
  SoftmaxCrossEntropyLoss: 'SoftmaxCrossEntropyLoss',
  Softplus: 'Softplus',
  Softsign: 'Softsign',
  SpaceToDepth: 'SpaceToDepth',
  Split: 'Split',
  SplitToSequence: 'SplitToSequence',
  Sqrt: 'Sqrt',
  Squeeze: 'Squeeze',
  StringConcat: 'StringConcat',
  StringNormalizer: 'StringNormalizer',
  StringSplit: 'StringSplit',
  Sub: 'Sub',
  Sum: 'Sum',
  Tan: 'Tan',
  Tanh: 'Tanh',
  TfIdfVectorizer: 'TfIdfVectorizer',
  ThresholdedRelu: 'ThresholdedRelu',
  Tile: 'Tile',
  TopK: 'TopK',
  Transpose: 'Transpose',
  Trilu: 'Trilu',
  Unique: 'Unique',
  Unsqueeze: 'Unsqueeze',
  Upsample: 'Upsample',
  Where: 'Where',
  Xor: 'Xor',
} as const;

/**
 * sparsec's own ops, produced by passes. Each has an ONNX decomposition used on export.
 *  - Linear: y = x @ W (+ b), W constant [K, N]; the canonical form of MatMul+Add and Gemm.
 *  - RMSNorm: y = x / sqrt(mean(x^2, axis..-1) + epsilon) * scale.
 */
export const SparsecOp = {
  Linear: 'Linear',
  RMSNorm: 'RMSNorm',
} as const;

/** A node from another domain, or an ai.onnx op newer than this IR knows: kept, not executed. */
export const OpaqueOp = { Opaque: 'Opaque' } as const;

export const Op = { ...OnnxOp, ...SparsecOp, ...OpaqueOp } as const;
export type Op = (typeof Op)[keyof typeof Op];
export type OnnxOp = (typeof OnnxOp)[keyof typeof OnnxOp];

const onnxOpNames = new Set<string>(Object.values(OnnxOp));
/** Whether an ai.onnx op_type string names an op of the IR (used only by frontend/). */
export const isOnnxOp = (name: string): name is OnnxOp => onnxOpNames.has(name);
const sparsecOpNames = new Set<string>(Object.values(SparsecOp));
export const isSparsecOp = (op: Op): boolean => sparsecOpNames.has(op);

// ---- Trait groups: passes test membership instead of listing ops. ----

/** One output element from the same-index elements of (broadcast) inputs. */
export const ElementwiseUnary: ReadonlySet<Op> = new Set<Op>([
  Op.Abs, Op.Acos, Op.Acosh, Op.Asin, Op.Asinh, Op.Atan, Op.Atanh, Op.BitwiseNot, Op.Cast,
  Op.Ceil, Op.Celu, Op.Cos, Op.Cosh, Op.Elu, Op.Erf, Op.Exp, Op.Floor, Op.Gelu, Op.HardSigmoid,
  Op.HardSwish, Op.Identity, Op.IsInf, Op.IsNaN, Op.LeakyRelu, Op.Log, Op.Mish, Op.Neg, Op.Not,
  Op.Reciprocal, Op.Relu, Op.Round, Op.Selu, Op.Shrink, Op.Sigmoid, Op.Sign, Op.Sin, Op.Sinh,
  Op.Softplus, Op.Softsign, Op.Sqrt, Op.Tan, Op.Tanh, Op.ThresholdedRelu,
]);

export const ElementwiseBinary: ReadonlySet<Op> = new Set<Op>([
  Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Pow, Op.Mod, Op.And, Op.Or, Op.Xor, Op.BitShift,
  Op.BitwiseAnd, Op.BitwiseOr, Op.BitwiseXor, Op.Equal, Op.Greater, Op.GreaterOrEqual, Op.Less,
  Op.LessOrEqual, Op.PRelu,
]);

/** Elementwise over any number of broadcast inputs. */
export const ElementwiseVariadic: ReadonlySet<Op> = new Set<Op>([Op.Max, Op.Min, Op.Sum, Op.Mean, Op.Where, Op.Clip]);

export const Elementwise: ReadonlySet<Op> = new Set<Op>([
  ...ElementwiseUnary, ...ElementwiseBinary, ...ElementwiseVariadic,
]);

export const Reduce: ReadonlySet<Op> = new Set<Op>([
  Op.ReduceL1, Op.ReduceL2, Op.ReduceLogSum, Op.ReduceLogSumExp, Op.ReduceMax, Op.ReduceMean,
  Op.ReduceMin, Op.ReduceProd, Op.ReduceSum, Op.ReduceSumSquare, Op.ArgMax, Op.ArgMin,
]);

/** Ops that only move or select data; they never change element values. */
export const DataMovement: ReadonlySet<Op> = new Set<Op>([
  Op.Reshape, Op.Transpose, Op.Concat, Op.Split, Op.Slice, Op.Gather, Op.GatherElements,
  Op.GatherND, Op.Expand, Op.Tile, Op.Squeeze, Op.Unsqueeze, Op.Flatten, Op.Identity,
  Op.DepthToSpace, Op.SpaceToDepth, Op.Pad,
]);

/** Ops whose outputs depend only on input shapes, never on input values. */
export const ShapeOnly: ReadonlySet<Op> = new Set<Op>([Op.Shape, Op.Size]);

/** Ops with nondeterministic or side-channel results: never constant-folded. */
export const NonDeterministic: ReadonlySet<Op> = new Set<Op>([
  Op.RandomNormal, Op.RandomNormalLike, Op.RandomUniform, Op.RandomUniformLike, Op.Bernoulli,
  Op.Multinomial,
]);

/** Ops that carry subgraphs in attributes. */
export const ControlFlow: ReadonlySet<Op> = new Set<Op>([Op.If, Op.Loop, Op.Scan, Op.SequenceMap]);
