import {
  CandlestickSeries, ColorType, createChart, CrosshairMode, LineStyle,
  type AutoscaleInfo, type IChartApi, type IPriceLine, type ISeriesApi, type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef, useState } from 'react';
import { applyTick, candlesAvailable, fetchCandles, INTERVALS, intervalSeconds, type Candle, type Interval } from '../api/candles';
import { ApiError } from '../api/http';
import { useController } from './context';
import { useStore } from '../live/store';
import { assetLabel } from '../lib/format';
import { toChartNumber } from '../lib/fixed';

// lightweight-charts draws UTC; shift by the local offset so the axis reads local time.
const TZ_SHIFT = -new Date().getTimezoneOffset() * 60;
const toBar = (c: Candle) => ({ ...c, time: (c.time + TZ_SHIFT) as UTCTimestamp });

const INTERVAL_KEY = 'exchange.interval';

function savedInterval(): Interval {
  try {
    const v = localStorage.getItem(INTERVAL_KEY);
    if (v && INTERVALS.some((i) => i.id === v)) return v as Interval;
  } catch {
    /* private mode */
  }
  return '1m';
}

export function PriceChart() {
  const c = useController();
  const asset = useStore((s) => s.selected);
  const decimals = useStore((s) => (s.selected ? s.quotes[s.selected]?.decimals ?? 2 : 2));
  const positions = useStore((s) => s.positions);
  const [interval, setInterval_] = useState<Interval>(savedInterval);
  const [source, setSource] = useState<'server' | 'local' | 'retrying' | 'loading'>('loading');
  const [bars, setBars] = useState(0); // candles the last history (or tick rebuild) put on the chart
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const lines = useRef<IPriceLine[]>([]);
  const entries = useRef<number[]>([]); // entry prices kept in view by the autoscale

  // the chart itself, once
  useEffect(() => {
    if (!host.current) return;
    const ch = createChart(host.current, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: '#848e9c',
        fontFamily: 'inherit',
        fontSize: 11,
        attributionLogo: true,
      },
      grid: { vertLines: { color: 'rgba(43,49,57,0.5)' }, horzLines: { color: 'rgba(43,49,57,0.5)' } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: '#2b3139' },
      timeScale: { borderColor: '#2b3139', timeVisible: true, secondsVisible: false, rightOffset: 4 },
    });
    const s = ch.addSeries(CandlestickSeries, {
      upColor: '#0ecb81', downColor: '#f6465d', wickUpColor: '#0ecb81', wickDownColor: '#f6465d', borderVisible: false,
      autoscaleInfoProvider: (original: () => AutoscaleInfo | null) => {
        const res = original();
        if (!res?.priceRange || !entries.current.length) return res;
        const { minValue, maxValue } = res.priceRange;
        return { ...res, priceRange: { minValue: Math.min(minValue, ...entries.current), maxValue: Math.max(maxValue, ...entries.current) } };
      },
    });
    chart.current = ch;
    series.current = s;
    return () => {
      ch.remove();
      chart.current = null;
      series.current = null;
      lines.current = [];
    };
  }, []);

  useEffect(() => {
    series.current?.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
  }, [decimals]);

  // history + live updates for the selected asset and interval
  useEffect(() => {
    const s = series.current;
    if (!asset || !s) return;
    const bucket = intervalSeconds(interval);
    let candles: Candle[] = [];
    let live = true;
    let loaded = false; // candles are on the chart (history, or the ticks seen while it cannot be had)
    let fetching = false;
    let sinceFetch: { tsMs: number; bid: number }[] = []; // ticks that arrived while a history request was out
    let retry: ReturnType<typeof setTimeout> | undefined;
    setSource('loading');
    s.setData([]);

    const ctl = new AbortController();
    const show = (list: Candle[]) => {
      fetching = false;
      candles = list;
      // The history may end before ticks that came in while it was on its way.
      for (const t of sinceFetch) applyTick(candles, t.tsMs, t.bid, bucket);
      sinceFetch = [];
      s.setData(candles.map(toBar));
      setBars(candles.length);
      if (!loaded) chart.current?.timeScale().scrollToRealTime(); // a late history must not move a view the trader has panned
      loaded = true;
    };
    // A request that failed for a passing reason (no answer in 10 s, the exchange restarting, a
    // dropped connection) is asked again, 2 s, 4 s … up to 30 s apart, with the page's own ticks
    // on the chart meanwhile. A server without the endpoint (null), or one that refuses the
    // request, is not asked again.
    const load = (attempt: number) => {
      const now = Date.now();
      fetching = true;
      sinceFetch = [];
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(10_000)]);
      fetchCandles(asset, interval, { from: now - bucket * 1000 * 500, to: now, limit: 500, signal }).then(
        (history) => {
          if (!live) return;
          if (history && history.length) {
            setSource('server');
            show(history);
          } else {
            setSource(candlesAvailable() ? 'server' : 'local');
            show(c.ticks.candles(asset, bucket));
          }
        },
        (e: unknown) => {
          if (!live) return;
          const passing = !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429;
          setSource(passing ? 'retrying' : 'local');
          if (!loaded) show(c.ticks.candles(asset, bucket));
          fetching = false;
          if (passing) retry = setTimeout(() => load(attempt + 1), Math.min(30_000, 2_000 * 2 ** attempt));
        },
      );
    };
    load(0);

    const off = c.onTick((a, tsMs, bid) => {
      if (a !== asset) return;
      if (fetching) sinceFetch.push({ tsMs, bid });
      if (!loaded) return;
      const changed = applyTick(candles, tsMs, bid, bucket);
      s.update(toBar(changed));
    });
    return () => {
      live = false;
      ctl.abort();
      clearTimeout(retry);
      off();
    };
  }, [asset, interval, c]);

  // entry and liquidation lines of the open positions on this asset
  const linesKey = positions
    .filter((p) => p.asset === asset)
    .map((p) => `${p.id}:${p.direction}:${p.openPrice}:${p.liquidationPrice}:${p.stopLoss}:${p.takeProfit}`)
    .join('|');
  useEffect(() => {
    const s = series.current;
    if (!s) return;
    for (const l of lines.current) s.removePriceLine(l);
    lines.current = [];
    entries.current = positions.filter((x) => x.asset === asset).map((p) => toChartNumber(p.openPrice, 8));
    for (const p of positions.filter((x) => x.asset === asset)) {
      const color = p.direction === 'LONG' ? '#0ecb81' : '#f6465d';
      const add = (units: bigint | null, title: string, col: string, style: LineStyle) => {
        if (units === null) return;
        lines.current.push(s.createPriceLine({ price: toChartNumber(units, 8), color: col, lineWidth: 1, lineStyle: style, axisLabelVisible: true, title }));
      };
      add(p.openPrice, p.direction, color, LineStyle.Solid);
      add(p.liquidationPrice, 'Liq.', '#f0b90b', LineStyle.Dashed);
      add(p.stopLoss, 'SL', '#848e9c', LineStyle.Dotted);
      add(p.takeProfit, 'TP', '#848e9c', LineStyle.Dotted);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [linesKey]);

  const pick = (i: Interval) => {
    setInterval_(i);
    try {
      localStorage.setItem(INTERVAL_KEY, i);
    } catch {
      /* ignore */
    }
  };

  return (
    <div className="chart">
      <div className="chart-head">
        <strong className="chart-title">{asset ? assetLabel(asset) : '—'}</strong>
        <div className="intervals" role="group" aria-label="Candle interval">
          {INTERVALS.map((i) => (
            <button key={i.id} type="button" className={interval === i.id ? 'active' : ''} aria-pressed={interval === i.id}
              data-testid={`interval-${i.id}`} onClick={() => pick(i.id)}>{i.label}</button>
          ))}
        </div>
        {source === 'local' && (
          <span className="chart-note" data-testid="chart-source" data-source="local"
            title="The server has no candle history yet: candles are built from the prices this page has seen">
            live ticks only
          </span>
        )}
        {source === 'retrying' && (
          <span className="chart-note" data-testid="chart-source" data-source="retrying"
            title="The chart's history could not be loaded: it is asked for again, with the prices this page has seen shown meanwhile">
            history unavailable, retrying
          </span>
        )}
      </div>
      <div className="chart-host" ref={host} data-testid="price-chart" data-interval={interval} data-source={source} data-candles={bars} />
    </div>
  );
}
