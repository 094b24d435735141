// tensorforge.nn: modules, layers, losses, functional forms and initialisers.
export { Module, parameter, isParameter, type StateDict, type LoadStateDictResult } from './module';
export {
  Linear, Sequential, Identity, Flatten, Dropout, ReLU, GELU, SiLU, Tanh, Sigmoid, LeakyReLU, Softmax, LogSoftmax,
  BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm, GroupNorm, Embedding, type BatchNormOptions,
} from './layers';
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions } from './multihead_attention';
export {
  TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer,
  type TransformerLayerOptions, type TransformerOptions, type TransformerActivation,
} from './transformer';
export { generateSquareSubsequentMask } from '../ops/masking';
export { Conv1d, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, type ConvOptions } from './conv_layers';
export { ConvTranspose1d, ConvTranspose2d, type ConvTransposeOptions } from './conv_layers';
export {
  RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell,
  type RNNBaseOptions, type RNNOptions, type LSTMOptions, type GRUOptions, type RNNForwardOptions, type RNNCellOptions,
} from './rnn';
export {
  CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss, KLDivLoss,
} from './loss_modules';
export * as functional from './functional';
export * as init from './init';
export * as utils from './utils';
export { clipGradNorm_, clipGradValue_ } from './utils';
