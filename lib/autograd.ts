// Reverse-mode autograd on a dynamic tape, micrograd-style: every differentiable op calls record()
// with a closure that maps the output's gradient to its inputs' gradients; backward() walks the
// graph in reverse topological order, summing gradients that meet at a tensor.
import { keep, type StorageRef } from './memory';
import { Tensor, type GradNode } from './tensor';
import { shapeStr, sameShape } from './shape';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (like `with torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  return setGradEnabled(false, fn);
}
/** Runs fn with gradient recording on, e.g. inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return setGradEnabled(true, fn);
}
function setGradEnabled<T>(on: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = on;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: (Tensor | number | boolean | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t instanceof Tensor && t._requiresGrad) return true;
  return false;
}

/**
 * Records `out = op(inputs)` when any input requires a gradient. `backward(g)` returns one gradient
 * per input (already reduced to that input's shape), or null where none flows. `saved` lists tensors
 * the closure reads, so in-place writes to them are caught.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: Tensor[],
  backward: (grad: Tensor) => (Tensor | null)[],
  saved: Tensor[] = [],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  const node: GradNode = {
    name,
    inputs,
    backward,
    saved,
    savedVersions: saved.map((t) => t._storage.version),
    released: false,
  };
  out.gradFn = node;
  out._requiresGrad = true;
  return out;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/** Computes gradients of `root` with respect to every leaf that requires them (accumulating into .grad). */
export function backward(root: Tensor, gradient?: Tensor | null, options: BackwardOptions = {}): void {
  root._check('backward');
  if (!root._requiresGrad) {
    throw new Error('backward: tensor does not require grad and has no gradFn (did you set requiresGrad on the inputs?)');
  }
  let seed: Tensor;
  const ownSeed = gradient === undefined || gradient === null;
  if (ownSeed) {
    if (root.numel() !== 1) {
      throw new Error(`backward: grad can be implicitly created only for scalar outputs, got shape ${shapeStr(root._shape)}`);
    }
    seed = onesLikeNoGrad(root);
  } else {
    if (!sameShape(gradient._shape, root._shape)) {
      throw new Error(`backward: gradient shape ${shapeStr(gradient._shape)} does not match output shape ${shapeStr(root._shape)}`);
    }
    seed = gradient;
  }

  // Topological order by iterative DFS (deep graphs, e.g. long RNN unrolls, would overflow recursion).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i];
      if (child._requiresGrad && !visited.has(child)) {
        if (child._disposed) {
          throw new Error(
            `backward: a tensor in the graph (input ${i} of ${t.gradFn!.name}, shape ${shapeStr(child._shape)}) was ` +
              'disposed before backward; call backward() before disposing (or tidying away) the forward tensors',
          );
        }
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  // Storages already handed out as some .grad (or owned by the caller): a .grad must own its memory,
  // or an in-place update of one gradient (clipping, zeroing) would change another.
  const taken = new Set<StorageRef>([seed._storage]);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      const node = t.gradFn;
      if (!node || t._retainGrad) accumulateGrad(t, g, taken);
      if (!node) continue;
      if (node.released) {
        throw new Error(
          `backward: trying to backward through the graph a second time (${node.name}); ` +
            'pass { retainGraph: true } to the first backward call',
        );
      }
      for (let s = 0; s < node.saved.length; s++) {
        if (node.saved[s]._storage.version !== node.savedVersions[s]) {
          throw new Error(
            `backward: a tensor saved by ${node.name} (shape ${shapeStr(node.saved[s]._shape)}) was modified by an ` +
              'in-place operation after it was used',
          );
        }
      }
      const inputGrads = node.backward(g);
      if (!options.retainGraph) node.released = true;
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        let ig = inputGrads[i];
        if (!ig || !input._requiresGrad) continue;
        if (!sameShape(ig._shape, input._shape)) {
          throw new Error(
            `backward: ${node.name} returned a gradient of shape ${shapeStr(ig._shape)} for input ${i} of shape ` +
              `${shapeStr(input._shape)}`,
          );
        }
        // A gradient has its input's dtype (float32 inputs of a float64 op get float32 gradients).
        if (ig.dtype !== input.dtype) ig = ig.to(input.dtype);
        const before = grads.get(input);
        grads.set(input, before ? before.add(ig) : ig);
      }
    }
  } finally {
    gradEnabled = prev;
    // The implicit seed is ours to free (a .grad made from it got its own copy; views keep their storage).
    if (ownSeed) seed.dispose();
  }
  if (!options.retainGraph) {
    for (const t of order) if (t.gradFn) t.gradFn = releasedNode(t.gradFn);
  }
}

// After backward without retainGraph, a node keeps its name but drops its closure and saved tensors.
function releasedNode(node: GradNode): GradNode {
  return {
    name: node.name,
    inputs: [],
    saved: [],
    savedVersions: [],
    released: true,
    backward: () => {
      throw new Error(`backward: trying to backward through the graph a second time (${node.name})`);
    },
  };
}

function accumulateGrad(t: Tensor, g: Tensor, taken: Set<StorageRef>): void {
  // .grad belongs to its tensor, not to any tidy scope around backward().
  if (t.grad === null) {
    const own = g.isContiguous() && g.numel() === g._storage.numel && !taken.has(g._storage);
    t.grad = keep(own ? g : g.clone());
    taken.add(t.grad._storage);
  } else {
    const sum = keep(t.grad.add(g));
    t.grad.dispose();
    t.grad = sum;
  }
}

function onesLikeNoGrad(t: Tensor): Tensor {
  const o = Tensor._empty(t._shape.slice(), t.dtype, false, t.device);
  o.fill_(1);
  return o;
}
