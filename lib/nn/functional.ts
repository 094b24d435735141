// nn.functional: the functional forms of layers, activations and losses in one namespace, as
// torch.nn.functional.
export { linear, dropout, layerNorm, rmsNorm, batchNorm, groupNorm, embedding } from './functional_basic';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './attention';
export { sinusoidalPositionEncoding, rotaryEmbedding, applyRotaryEmb } from './positional';
export {
  crossEntropy, nllLoss, mseLoss, l1Loss, smoothL1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv,
  type Reduction, type CrossEntropyOptions, type NllOptions,
} from './losses';
export { relu, gelu, silu, tanh, sigmoid, leakyRelu } from '../ops/unary';
export { softmax, logSoftmax } from '../ops/softmax';
export { conv1d, conv2d } from '../ops/conv';
export { convTranspose1d, convTranspose2d } from '../ops/conv_transpose';
export { maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d } from '../ops/pool';
