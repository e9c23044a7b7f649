// Steps shared by the commands: load a model with file-named errors, bind --shape options to
// the model's inputs, specialize it, and infer its types where that helps but is not needed.

import { loadModel } from '../../frontend/index.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { specializeShapes } from '../../passes/specialize.js';
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
