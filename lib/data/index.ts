// tensorforge.data: datasets and batching (PyTorch's torch.utils.data).
export { Dataset, TensorDataset, type DatasetLike } from './dataset';
export { DataLoader, type DataLoaderOptions } from './dataloader';
export { defaultCollate, type Collated } from './collate';
