# The reference values of test/stats/*.test.ts, computed once with `python3 test/stats/scipy-reference.py`
# under scipy 1.17.1 and pasted into the tests as literals. Not Debian's scipy 1.10.1 (python3-scipy): its
# t.ppf is off by up to 7e-9 relative in the CDF (t.cdf(t.ppf(1e-6, 3), 3) = 0.99999999299e-6), too coarse
# for a 1e-9 check; 1.17.1 inverts its own t.cdf to 6e-15. Every other value agrees between the two to 5e-10.
# nct.cdf(-t, df, d) of scipy 1.17.1 is NaN for some large d, hence nct.sf(t, df, -d) in mdd() below.
import numpy as np, json
from scipy import stats, special, optimize
out = {}
dfs = [1, 2, 3, 4, 5, 10, 30, 1000, 7.3]
ts = [-30, -3.5, -1.2, -0.3, 0.4, 1.7, 2.9, 12]
out['tcdf'] = [[t, df, float(stats.t.cdf(t, df))] for df in dfs for t in ts]
ps = [1e-6, 0.001, 0.025, 0.1, 0.4, 0.6, 0.9, 0.975, 0.999]
out['tppf'] = [[p, df, float(stats.t.ppf(p, df))] for df in dfs for p in ps]
out['tpdf'] = [[t, df, float(stats.t.pdf(t, df))] for df in [1, 4, 30] for t in [-2.2, 0, 0.7]]
out['normppf'] = [[p, float(stats.norm.ppf(p))] for p in [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.8, 0.975, 0.999999]]
out['normcdf'] = [[z, float(stats.norm.cdf(z))] for z in [-12, -5, -1.5, 0, 0.3, 2.2, 6]]
out['betainc'] = [[a, b, x, float(special.betainc(a, b, x))] for (a, b, x) in [(0.5, 0.5, 0.3), (2, 3, 0.4), (15, 0.5, 0.9), (500, 0.5, 0.99), (0.5, 500, 0.001), (7.5, 12.25, 0.6)]]
out['nctcdf'] = [[t, df, d, float(stats.nct.cdf(t, df, d))] for (t, df, d) in [(2, 5, 1.5), (-1, 4, 2), (0.5, 2, -1), (3, 10, 40), (4.3, 2, 3), (12.7, 1, 20), (2.1, 29, 2.8), (-0.7, 9, -0.4), (1.5, 1000, 1.2), (0, 3, 1.1)]]
def mdd(sd, n, alpha=0.05, power=0.8):
    df = n - 1
    tc = stats.t.ppf(1 - alpha / 2, df)
    f = lambda d: stats.nct.sf(tc, df, d) + stats.nct.sf(tc, df, -d) - power
    d = optimize.brentq(f, 1e-6, 60, xtol=1e-14, rtol=1e-14)
    return float(d * sd / np.sqrt(n))
out['mdd'] = [[sd, n, a, p, mdd(sd, n, a, p)] for (sd, n, a, p) in [(1, 2, 0.05, 0.8), (1, 3, 0.05, 0.8), (1, 5, 0.05, 0.8), (1, 10, 0.05, 0.8), (2.5, 5, 0.05, 0.8), (1, 5, 0.01, 0.9), (0.3, 30, 0.05, 0.8)]]
pairs = [([1, 2, 3, 4.5], [0.5, 1.2, 3.3, 3]), ([0.71, 0.74, 0.69], [0.70, 0.72, 0.70]), ([10.2, 11.5], [9.1, 9.3]), ([3.1, 2.9, 3.3, 3.0, 3.2, 3.05], [3.4, 3.35, 3.6, 3.2, 3.55, 3.3])]
out['paired'] = []
for a, b in pairs:
    for c in [0.95, 0.9]:
        r = stats.ttest_rel(a, b)
        ci = r.confidence_interval(c)
        d = np.array(a) - np.array(b)
        out['paired'].append([a, b, c, float(d.mean()), float(d.std(ddof=1)), float(stats.sem(d)), float(r.statistic), float(r.pvalue), float(ci.low), float(ci.high)])
welch = [([1, 2, 3, 4.5], [0.5, 1.2, 3.3]), ([0.71, 0.74, 0.69, 0.73, 0.7], [0.60, 0.72]), ([5, 5.5, 6], [1, 9, 2, 8])]
out['welch'] = []
for a, b in welch:
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    m = np.mean(a) - np.mean(b)
    lo, hi = stats.t.interval(0.95, df, loc=m, scale=np.sqrt(va + vb))
    out['welch'].append([a, b, float(m), float(r.statistic), float(df), float(r.pvalue), float(lo), float(hi)])
samples = [[2.5, 3.1, 4.7, 1.2, 3.3], [0.1, 0.2], [7, 7, 7, 8], [-1e3, 2.5e3, 12.25]]
out['meanstd'] = [[x, float(np.mean(x)), float(np.std(x, ddof=1)), float(stats.sem(x)), float(np.median(x))] for x in samples]
sp = [([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), ([5, 1, 5, 3, 2, 8], [0.3, 0.1, 0.2, 0.2, 0.9, 0.4]), ([9, 8, 5, 4], [60, 62, 70, 72]), ([1, 2, 2, 3, 3, 3, 4], [7, 6, 6, 5, 9, 1, 2])]
out['spearman'] = [[x, y, float(stats.spearmanr(x, y).statistic)] for x, y in sp]
print(json.dumps(out))
