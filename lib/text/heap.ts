// A binary heap ordered by a "comes first" predicate. BPE uses it twice: training pops the most
// frequent pair, encoding pops the lowest-rank merge. Neither needs decrease-key: callers push a new
// entry when a priority improves and skip stale entries when they pop them.

export class BinaryHeap<T> {
  private readonly items: T[] = [];

  /** `before(a, b)` is true when `a` must be popped before `b`. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && this.before(items[right], items[left]) ? right : left;
        if (!this.before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
