// tensorforge.datasets: ready-made datasets and the file formats they use.
export {
  FashionMNIST, FashionMNISTDataset, FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_ROOT, FASHION_MNIST_SUBSET_ROOT,
  type FashionMNISTOptions,
} from './fashion_mnist';
export { readIdx, parseIdx, encodeIdx, MAX_IDX_DIMS, type IdxArray, type IdxType, type IdxData, type IdxReadOptions } from './idx';
