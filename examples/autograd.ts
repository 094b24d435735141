import * as tf from 'tensorforge';

const x = tf.tensor([[1, 2], [3, 4]], { requiresGrad: true });
const w = tf.tensor([[0.5], [-1]], { requiresGrad: true });
const y = x.matmul(w).tanh().sum();  // tanh(1*0.5 - 2) + tanh(3*0.5 - 4)
y.backward();

console.log(y.toString());       // tensor(-1.8918, gradFn=<SumBackward>)
console.log(x.grad!.toString()); // tensor([[ 0.0904, -0.1807], [ 0.0133, -0.0266]])
console.log(w.grad!.toString()); // tensor([[0.2605], [0.4678]])
