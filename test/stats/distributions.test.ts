/**
 * lib/stats/distributions.ts and special.ts against scipy (scipy 1.17.1; the script that made
 * these literals is test/stats/scipy-reference.py): Student-t CDF, quantile and density at df 1, 2, 3, 4, 5,
 * 10, 30, 1000 and a non-integer 7.3, the normal CDF and quantile, the regularised incomplete beta, the
 * noncentral t CDF; and every bad argument.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { betaIncReg, noncentralTCdf, normalCdf, normalQuantile, studentTCdf, studentTPdf, studentTQuantile } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { close } from './close';

// [t, df, scipy.stats.t.cdf(t, df)]
const TCDF = [
  [-30, 1, 0.010606402405535426],
  [-3.5, 1, 0.08858553278290476],
  [-1.2, 1, 0.22114206162369554],
  [-0.3, 1, 0.4072264209222577],
  [0.4, 1, 0.6211189415908434],
  [1.7, 1, 0.8307469726696672],
  [2.9, 1, 0.894302188680174],
  [12, 1, 0.9735353239404101],
  [-30, 2, 0.0005546313409798295],
  [-3.5, 2, 0.036413675027234665],
  [-1.2, 2, 0.17650168038968475],
  [-0.3, 2, 0.3962428304200888],
  [0.4, 2, 0.6360827634879543],
  [1.7, 2, 0.8843832868992144],
  [2.9, 2, 0.9494099023459641],
  [12, 2, 0.9965635331614208],
  [-30, 3, 4.067640213581979e-05],
  [-3.5, 3, 0.019740518809641387],
  [-1.2, 3, 0.15813105734905258],
  [-0.3, 3, 0.3918816460199595],
  [0.4, 3, 0.6420324230128149],
  [1.7, 3, 0.906154679223295],
  [2.9, 3, 0.9687488790016773],
  [12, 3, 0.9993774920996054],
  [-30, 4, 3.6764280488306595e-06],
  [-3.5, 4, 0.012448081730111374],
  [-1.2, 4, 0.14817569665617666],
  [-0.3, 4, 0.3895607141387299],
  [0.4, 4, 0.6452013692850016],
  [1.7, 4, 0.917822529364975],
  [2.9, 4, 0.9779410251828994],
  [12, 4, 0.9998617857257485],
  [-30, 5, 3.8593243102480265e-07],
  [-3.5, 5, 0.008642215892646679],
  [-1.2, 5, 0.14194552835305124],
  [-0.3, 5, 0.38812452113163726],
  [0.4, 5, 0.6471634425834427],
  [1.7, 5, 0.925061606575838],
  [2.9, 5, 0.9831046478651141],
  [12, 5, 0.9999645525374142],
  [-30, 10, 1.9808961710156623e-11],
  [-3.5, 10, 0.002863252714942605],
  [-1.2, 10, 0.12889815036215282],
  [-0.3, 10, 0.3851603037828993],
  [0.4, 10, 0.6512162951704386],
  [1.7, 10, 0.9400153270454898],
  [2.9, 10, 0.9920832003510954],
  [12, 10, 0.9999998539295588],
  [-30, 30, 3.125895815304445e-24],
  [-3.5, 30, 0.0007384037188221266],
  [-1.2, 30, 0.11976517544483119],
  [-0.3, 30, 0.3831230526421764],
  [0.4, 30, 0.654004741742904],
  [1.7, 30, 0.9502610622057416],
  [2.9, 30, 0.9965400448674723],
  [12, 30, 0.999999999999721],
  [-30, 1000, 7.687343722021547e-142],
  [-3.5, 1000, 0.0002428871729839163],
  [-1.2, 1000, 0.11521177616223356],
  [-0.3, 1000, 0.38211975208362203],
  [0.4, 1000, 0.6553790283669709],
  [1.7, 1000, 0.9552790565203799],
  [2.9, 1000, 0.9980933534778595],
  [12, 1000, 1.0],
  [-30, 7.3, 3.2444026595639815e-09],
  [-3.5, 7.3, 0.004671569264242777],
  [-1.2, 7.3, 0.13381533327582806],
  [-0.3, 7.3, 0.386270268089855],
  [0.4, 7.3, 0.649698128956566],
  [1.7, 7.3, 0.9344173158234566],
  [2.9, 7.3, 0.9890240467876826],
  [12, 7.3, 0.9999977221073852],
] as const;
// [p, df, scipy.stats.t.ppf(p, df)]
const TPPF = [
  [1e-06, 1, -318309.8861827435],
  [0.001, 1, -318.30883898555044],
  [0.025, 1, -12.706204736174705],
  [0.1, 1, -3.0776835371752536],
  [0.4, 1, -0.32491969623290634],
  [0.6, 1, 0.32491969623290634],
  [0.9, 1, 3.0776835371752544],
  [0.975, 1, 12.706204736174694],
  [0.999, 1, 318.30883898555015],
  [1e-06, 2, -707.1057205259339],
  [0.001, 2, -22.327124770119873],
  [0.025, 2, -4.302652729749464],
  [0.1, 2, -1.8856180831641267],
  [0.4, 2, -0.2886751345948128],
  [0.6, 2, 0.2886751345948128],
  [0.9, 2, 1.8856180831641272],
  [0.975, 2, 4.302652729749462],
  [0.999, 2, 22.327124770119866],
  [1e-06, 3, -103.29946778041935],
  [0.001, 3, -10.214531852407385],
  [0.025, 3, -3.1824463052837086],
  [0.1, 3, -1.6377443536962089],
  [0.4, 3, -0.2766706623326898],
  [0.6, 3, 0.2766706623326898],
  [0.9, 3, 1.637744353696209],
  [0.975, 3, 3.1824463052837078],
  [0.999, 3, 10.214531852407383],
  [1e-06, 4, -41.577854150450975],
  [0.001, 4, -7.1731822197823085],
  [0.025, 4, -2.7764451051977943],
  [0.1, 4, -1.5332062740589436],
  [0.4, 4, -0.2707222947075976],
  [0.6, 4, 0.2707222947075976],
  [0.9, 4, 1.533206274058944],
  [0.975, 4, 2.7764451051977934],
  [0.999, 4, 7.173182219782307],
  [1e-06, 5, -24.771029720515948],
  [0.001, 5, -5.893429531356009],
  [0.025, 5, -2.5705818356363155],
  [0.1, 5, -1.4758840488244813],
  [0.4, 5, -0.2671808657041451],
  [0.6, 5, 0.2671808657041451],
  [0.9, 5, 1.4758840488244815],
  [0.975, 5, 2.5705818356363146],
  [0.999, 5, 5.893429531356009],
  [1e-06, 10, -9.751995490940581],
  [0.001, 10, -4.143700494046589],
  [0.025, 10, -2.2281388519862753],
  [0.1, 10, -1.3721836411103359],
  [0.4, 10, -0.2601848294920803],
  [0.6, 10, 0.2601848294920803],
  [0.9, 10, 1.372183641110336],
  [0.975, 10, 2.228138851986274],
  [0.999, 10, 4.143700494046589],
  [1e-06, 30, -5.871117120418882],
  [0.001, 30, -3.385184866829305],
  [0.025, 30, -2.042272456301238],
  [0.1, 30, -1.3104150253913955],
  [0.4, 30, -0.2556053649519128],
  [0.6, 30, 0.2556053649519128],
  [0.9, 30, 1.3104150253913955],
  [0.975, 30, 2.0422724563012378],
  [0.999, 30, 3.3851848668293045],
  [1e-06, 1000, -4.781608620458351],
  [0.001, 1000, -3.0984021639129233],
  [0.025, 1000, -1.9623390808264085],
  [0.1, 1000, -1.2823987214609245],
  [0.4, 1000, -0.25341451583949876],
  [0.6, 1000, 0.25341451583949876],
  [0.9, 1000, 1.2823987214609247],
  [0.975, 1000, 1.9623390808264083],
  [0.999, 1000, 3.0984021639129233],
  [1e-06, 7.3, -13.493523060744641],
  [0.001, 7.3, -4.688865993538373],
  [0.025, 7.3, -2.3450667365477034],
  [0.1, 7.3, -1.408922317748042],
  [0.4, 7.3, -0.2627568052507191],
  [0.6, 7.3, 0.2627568052507191],
  [0.9, 7.3, 1.4089223177480423],
  [0.975, 7.3, 2.345066736547703],
  [0.999, 7.3, 4.688865993538372],
] as const;
// [t, df, scipy.stats.t.pdf(t, df)]
const TPDF = [
  [-2.2, 1, 0.054505117497224434],
  [0, 1, 0.31830988618379075],
  [0.7, 1, 0.21363079609650384],
  [-2.2, 4, 0.0516476521260042],
  [0, 4, 0.375],
  [0.7, 4, 0.2809088317119511],
  [-2.2, 30, 0.03894572513297864],
  [0, 30, 0.39563218489409685],
  [0.7, 30, 0.30777333104241544],
] as const;
// [p, scipy.stats.norm.ppf(p)]
const NORMPPF = [
  [1e-12, -7.034483825301131],
  [1e-06, -4.753424308822899],
  [0.01, -2.3263478740408408],
  [0.3, -0.5244005127080409],
  [0.5, 0.0],
  [0.8, 0.8416212335729143],
  [0.975, 1.959963984540054],
  [0.999999, 4.753424308817087],
] as const;
// [z, scipy.stats.norm.cdf(z)]
const NORMCDF = [
  [-12, 1.776482112077653e-33],
  [-5, 2.866515718791933e-07],
  [-1.5, 0.06680720126885807],
  [0, 0.5],
  [0.3, 0.6179114221889526],
  [2.2, 0.9860965524865014],
  [6, 0.9999999990134123],
] as const;
// [a, b, x, scipy.special.betainc(a, b, x)]
const BETAINC = [
  [0.5, 0.5, 0.3, 0.36901011956554536],
  [2, 3, 0.4, 0.5247999999999999],
  [15, 0.5, 0.9, 0.07785867031466781],
  [500, 0.5, 0.99, 0.0015273578790529906],
  [0.5, 500, 0.001, 0.6826895526902824],
  [7.5, 12.25, 0.6, 0.9763334472849038],
] as const;
// [t, df, delta, scipy.stats.nct.cdf(t, df, delta)]
const NCTCDF = [
  [2, 5, 1.5, 0.6314492472556718],
  [-1, 4, 2, 0.0025732321748443074],
  [0.5, 2, -1, 0.920304260068485],
  [3, 10, 40, 6.61477682371266e-176],
  [4.3, 2, 3, 0.6122745498414527],
  [12.7, 1, 20, 0.11642817852526904],
  [2.1, 29, 2.8, 0.2442742833735519],
  [-0.7, 9, -0.4, 0.39086616855765455],
  [1.5, 1000, 1.2, 0.6177041454994564],
  [0, 3, 1.1, 0.13566606094638267],
] as const;
describe('Student t, normal, incomplete beta and noncentral t against scipy', () => {
  test('studentTCdf matches scipy.stats.t.cdf to 1e-9 relative, and the tails keep their relative precision', () => {
    for (const [t, df, want] of TCDF) close(studentTCdf(t, df), want, 1e-9, `t.cdf(${t}, ${df})`);
    assert.equal(studentTCdf(0, 3), 0.5);
    assert.equal(studentTCdf(Infinity, 3), 1);
    assert.equal(studentTCdf(-Infinity, 3), 0);
  });

  test('studentTQuantile matches scipy.stats.t.ppf to 1e-9 relative, and inverts studentTCdf', () => {
    for (const [p, df, want] of TPPF) {
      const q = studentTQuantile(p, df);
      close(q, want, 1e-9, `t.ppf(${p}, ${df})`);
      close(studentTCdf(q, df), p, 1e-9, `t.cdf(t.ppf(${p}, ${df}))`);
    }
    assert.equal(studentTQuantile(0.5, 4), 0);
    assert.equal(studentTQuantile(0.3, 6), -studentTQuantile(0.7, 6));
  });

  test('studentTPdf matches scipy.stats.t.pdf', () => {
    for (const [t, df, want] of TPDF) close(studentTPdf(t, df), want, 1e-12, `t.pdf(${t}, ${df})`);
    assert.equal(studentTPdf(Infinity, 2), 0);
  });

  test('normalCdf and normalQuantile match scipy.stats.norm', () => {
    for (const [p, want] of NORMPPF) close(normalQuantile(p), want, 1e-12, `norm.ppf(${p})`, 1e-15);
    for (const [z, want] of NORMCDF) close(normalCdf(z), want, 1e-12, `norm.cdf(${z})`);
  });

  test('betaIncReg matches scipy.special.betainc', () => {
    for (const [a, b, x, want] of BETAINC) close(betaIncReg(a, b, x), want, 1e-11, `betainc(${a}, ${b}, ${x})`);
    assert.equal(betaIncReg(2, 3, 0), 0);
    assert.equal(betaIncReg(2, 3, 1), 1);
  });

  test('noncentralTCdf matches scipy.stats.nct.cdf (including δ = 40, whose Poisson weights underflow from j = 0)', () => {
    for (const [t, df, d, want] of NCTCDF) close(noncentralTCdf(t, df, d), want, 1e-9, `nct.cdf(${t}, ${df}, ${d})`);
    assert.equal(noncentralTCdf(1.3, 7, 0), studentTCdf(1.3, 7));
  });

  test('over a grid of df (0.05 … 1e5) and p (1e-30 … 1 − 1e-12): quantile and CDF invert each other, nothing is NaN', () => {
    for (const df of [0.05, 0.3, 1, 1.5, 2, 2.5, 6, 17.2, 120, 1e5]) {
      for (const p of [1e-30, 1e-17, 1e-9, 3e-4, 0.05, 0.31, 0.5, 0.77, 0.99, 1 - 1e-12]) {
        const q = studentTQuantile(p, df);
        assert.ok(!Number.isNaN(q), `t.ppf(${p}, ${df}) is NaN`);
        if (Number.isFinite(q)) close(studentTCdf(q, df), p, 1e-9, `t.cdf(t.ppf(${p}, ${df}), ${df})`);
        else assert.ok(studentTCdf(-Number.MAX_VALUE, df) > Math.min(p, 1 - p), `t.ppf(${p}, ${df}) = ${q} though the quantile is a double`);
      }
    }
    // t.ppf(1e-30, 0.05) ≈ −1e600: beyond the doubles, so −Infinity (and +Infinity on the other side)
    assert.equal(studentTQuantile(1e-30, 0.05), -Infinity);
    for (const [df, d] of [[1, 5], [3, -2], [10, 8], [2.5, 30], [0.5, 1]]) {
      let prev = 0;
      for (let t = -60; t <= 60; t += 0.5) {
        const f = noncentralTCdf(t, df, d);
        assert.ok(f >= prev - 1e-12 && f <= 1, `nct.cdf(${t}, ${df}, ${d}) = ${f} after ${prev}`);
        prev = f;
      }
    }
  });

  test('bad arguments are ConfigErrors that name the value and what is allowed', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => studentTCdf(NaN, 3), /^t must be a number \(±Infinity allowed\); got NaN$/],
      [() => studentTCdf(1, 0), /^df must be a finite number > 0; got 0$/],
      [() => studentTCdf(1, -2), /^df must be a finite number > 0; got -2$/],
      [() => studentTCdf(1, Infinity), /^df must be a finite number > 0; got Infinity$/],
      [() => studentTCdf(1, '3' as unknown as number), /^df must be a finite number > 0; got '3'$/],
      [() => studentTQuantile(0, 3), /^p must be a probability in \(0, 1\); got 0$/],
      [() => studentTQuantile(1, 3), /^p must be a probability in \(0, 1\); got 1$/],
      [() => studentTQuantile(NaN, 3), /^p must be a probability in \(0, 1\); got NaN$/],
      [() => studentTQuantile(0.5, NaN), /^df must be a finite number > 0; got NaN$/],
      [() => studentTPdf(NaN, 3), /^t must be a number/],
      [() => normalQuantile(1.5), /^p must be a probability in \(0, 1\); got 1\.5$/],
      [() => normalCdf(NaN), /^z must be a number/],
      [() => noncentralTCdf(1, 3, NaN), /^delta \(the noncentrality\) must be a finite number; got NaN$/],
      [() => noncentralTCdf(1, 0, 1), /^df must be a finite number > 0; got 0$/],
      [() => noncentralTCdf(NaN, 3, 1), /^t must be a number/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), String(f));
  });
});
