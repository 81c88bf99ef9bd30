using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>
/// One scrape of the server's /metrics (Prometheus text), keyed by series as written
/// (<c>name{labels}</c>). Two of them, at the start and the end of the measured window, say what
/// the engine host, its disk and the garbage collector did meanwhile, so a run's tail can be
/// read against them: the same build gives a different p99 when the machine's fsyncs stall.
/// </summary>
public sealed class ServerMetrics
{
    private readonly Dictionary<string, double> _series = [];

    /// <summary>Null when the server does not answer (the run goes on without these lines).</summary>
    public static async Task<ServerMetrics?> ScrapeAsync(Uri server)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return Parse(await http.GetStringAsync(new Uri(server, "/metrics")));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public static ServerMetrics Parse(string text)
    {
        var metrics = new ServerMetrics();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var keyEnd = line.Contains('{', StringComparison.Ordinal) ? line.LastIndexOf('}') + 1 : line.IndexOf(' ');
            if (keyEnd <= 0 || keyEnd >= line.Length) continue;
            var value = line[keyEnd..].Trim().Split(' ')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                metrics._series[line[..keyEnd]] = v;
        }
        return metrics;
    }

    /// <summary>The growth since <paramref name="start"/> of every series of <paramref name="name"/> whose labels contain <paramref name="label"/>.</summary>
    public double Since(ServerMetrics start, string name, string label = "") =>
        _series.Where(s => Matches(s.Key, name, label)).Sum(s => s.Value - start._series.GetValueOrDefault(s.Key));

    /// <summary>A histogram's observations since <paramref name="start"/> (all its series summed).</summary>
    public WindowHistogram Histogram(ServerMetrics start, string name)
    {
        var buckets = _series.Keys.Where(k => Matches(k, name + "_bucket", "le=\""))
            .Select(k => k[(k.IndexOf("le=\"", StringComparison.Ordinal) + 4)..k.LastIndexOf('"')])
            .Distinct()
            .Select(le => (Le: le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture),
                Count: Since(start, name + "_bucket", $"le=\"{le}\"")))
            .OrderBy(b => b.Le)
            .ToList();
        return new WindowHistogram(Since(start, name + "_count"), Since(start, name + "_sum"), buckets);
    }

    private static bool Matches(string series, string name, string label) =>
        series.StartsWith(name, StringComparison.Ordinal) && (series.Length == name.Length || series[name.Length] == '{')
        && series.Contains(label, StringComparison.Ordinal);
}

/// <summary>A histogram over the window: cumulative bucket counts by upper bound, in seconds.</summary>
public sealed record WindowHistogram(double Count, double SumSeconds, IReadOnlyList<(double Le, double Count)> Buckets)
{
    public double MeanMs => Count > 0 ? SumSeconds * 1000 / Count : 0;

    /// <summary>Percent of observations above <paramref name="seconds"/>, which must be a bucket bound.</summary>
    public double PercentAbove(double seconds)
    {
        if (Count <= 0) return 0;
        var within = Buckets.FirstOrDefault(b => b.Le == seconds);
        return 100 * (Count - within.Count) / Count;
    }
}
