// Steps shared by the commands: load and save a model with file-named errors, recognize a
// transformer's structure, bind --shape options to
// the model's inputs, specialize it, and infer its types where that helps but is not needed.

import { loadModel, saveModel } from '../../frontend/index.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { specializeShapes } from '../../passes/specialize.js';
import { canonicalStructure } from '../../passes/structure/canonical.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { ShapeBinding } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatShape } from '../format.js';
import { withFile } from '../tensor-files.js';

export async function loadUserModel(file: string, ctx: CommandContext): Promise<Model> {
  ctx.progress.update(`loading ${file}`);
  try {
    return await loadModel(file, { onProgress: (p) => ctx.progress.update(`${p.phase === 'read' ? 'reading' : 'decoding'} ${file}`, p.done, p.total) });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

/** Write a command's result atomically; `what` names it in the error ('pruned model'). */
export async function saveUserModel(model: Model, file: string, what: string): Promise<void> {
  try {
    await saveModel(model, file);
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw error('WRITE_FAILED', `cannot write the ${what}: ${(e as Error).message}`, { file }, 'Check that -o names a writable path.');
  }
}

/**
 * Canonicalize in place and recognize the transformer, for the structural commands: pipeline
 * warnings and every part recognition could not place (which the transform leaves as it was)
 * are reported naming the file.
 */
export function recognizeUserModel(model: Model, file: string, ctx: CommandContext): ModelStructure {
  try {
    const { structure, warnings } = canonicalStructure(model);
    for (const w of warnings) ctx.warn({ ...w, location: { ...w.location, file } });
    for (const u of structure.unrecognized.filter((u) => /not recognized/.test(u.reason))) {
      ctx.warn({ code: 'UNSUPPORTED_OP', severity: 'warning', text: `left as it was: ${u.reason}`, location: { file, ...(u.node ? { node: u.node.name } : {}) } });
    }
    return structure;
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  }
}

/** The inputs a caller feeds: graph inputs that are not constants (initializers with defaults). */
export function feedInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => !v.isConstant);
}

/**
 * Resolve `--shape` options against the model's inputs. A binding without a name is allowed
 * when the model has exactly one input.
 */
export function resolveShapeBindings(model: Model, shapes: readonly ShapeBinding[], file: string): Record<string, number[]> {
  const inputs = feedInputs(model);
  const out: Record<string, number[]> = {};
  for (const s of shapes) {
    const name = s.input ?? soleInput(inputs, file, '--shape');
    const v = inputs.find((i) => i.name === name);
    if (!v) throw unknownInput(name, inputs, file, '--shape');
    if (Object.hasOwn(out, name)) throw error('BAD_OPTION', `--shape binds input '${name}' twice`, { file, value: name });
    if (v.shape && v.shape.length !== s.dims.length) {
      throw error(
        'SHAPE_MISMATCH',
        `--shape gives ${s.dims.length} dims for input '${name}' but it has rank ${v.shape.length} ${formatShape(v.shape)}`,
        { file, value: name },
      );
    }
    out[name] = s.dims;
  }
  return out;
}

export function specialize(model: Model, bindings: Record<string, number[]>, file: string): Model {
  if (Object.keys(bindings).length === 0) return model;
  try {
    return specializeShapes(model, bindings);
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  }
}

/**
 * Infer types for a command that works without them (they only make its output better): a
 * model inference cannot type gets a warning naming the file, not an error.
 */
export function inferTypesOrWarn(model: Model, file: string, ctx: CommandContext): void {
  try {
    inferTypes(model.graph);
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    const d = e.diagnostic;
    ctx.warn({ ...d, severity: 'warning', text: `types not inferred: ${d.text}`, location: { ...d.location, file } });
  }
}

export function soleInput(inputs: readonly Pick<Value, 'name'>[], file: string, flag: string): string {
  if (inputs.length === 1) return inputs[0]!.name;
  throw error(
    'BAD_OPTION',
    `${flag} needs an input name: the model has ${inputs.length} inputs (${inputs.map((v) => `'${v.name}'`).join(', ') || 'none'})`,
    { file },
    `Write ${flag} name=...`,
  );
}

export function unknownInput(name: string, inputs: readonly Pick<Value, 'name'>[], file: string, flag: string): SparsecError {
  return error(
    'BAD_OPTION',
    `${flag} names input '${name}', but the model's inputs are ${inputs.map((v) => `'${v.name}'`).join(', ') || 'none'}`,
    { file, value: name },
  );
}
