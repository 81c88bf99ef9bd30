using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>Command-line options; see <see cref="Usage"/>.</summary>
public sealed record LoadOptions
{
    public Uri Url { get; init; } = new("http://127.0.0.1:3300");
    public int Traders { get; init; } = 200;
    public double Rate { get; init; } = 2_000;
    public double Seconds { get; init; } = 30;
    public double Warmup { get; init; } = 5;
    public int Connections { get; init; } = 64;
    /// <summary>Null: <see cref="DispatchersFor"/> picks by rate.</summary>
    public int? Dispatchers { get; init; }
    public double TimeoutSeconds { get; init; } = 10;
    public int MaxInFlight { get; init; } = 100_000;
    public int SetupConcurrency { get; init; } = 4;
    public int? ServerPid { get; init; }
    public string? LatencyLog { get; init; }
    public double SchedTrace { get; init; }
    public decimal Margin { get; init; } = 10;
    public int Leverage { get; init; } = 10;

    // --find-max: step the rate up until a step fails.
    public bool FindMax { get; init; }
    public double StepFactor { get; init; } = 1.25;
    public double MaxRate { get; init; } = 200_000;
    public double MaxP99Ms { get; init; } = 50;
    public int Refine { get; init; } = 2;
    public double Settle { get; init; } = 30;

    public const string Usage = """
        Open-loop HTTP load generator for POST /api/v1/engine (CREATE_TRADE/CLOSE_TRADE).
        The server must allow many sign-ups: start it with AUTH_RATE_LIMIT_PER_MINUTE=1000000.

          --url URL              server base address (default http://127.0.0.1:3300)
          --traders N            traders to sign up and fund (default 200)
          --rate R               planned commands per second, CREATE_TRADE + CLOSE_TRADE together (default 2000)
          --seconds S            measured duration (default 30)
          --warmup S             unmeasured lead-in at the same rate (default 5)
          --connections C        HTTP/1.1 keep-alive connections at most (default 64)
          --dispatchers D|auto   threads keeping the schedule, one pinned to each of the first D CPUs, the first awake
                                 sending each slot: a CPU the kernel holds cannot make the generator late; auto (the
                                 default) is 2 below 5000 commands/s and 1 from there, where the CPU a second one
                                 costs would come out of the server's share (--find-max: as for its first rate)
          --timeout S            how long to wait for outstanding replies once the schedule ends; then they are
                                 cancelled and counted as errors (default 10; sign-up requests also use it)
          --max-inflight N       requests outstanding at most; beyond it a slot is counted as an error (default 100000)
          --setup-concurrency N  parallel sign-ups (PBKDF2 on the server is slow) (default 4)
          --server-pid PID       also report the server's CPU time, wake-ups and run-queue waits per thread name during
                                 the measured window (Linux /proc; the host's steal is reported either way)
          --latency-log FILE     write each measured reply's arrival time (UTC), latency, server latency, how late it
                                 was sent (dispatch lag + connection wait) and arrival on the monotonic clock (s) to FILE
          --sched-trace S        record the scheduler (perf sched, as root) for the first S seconds of the window and
                                 name the other processes' threads that held a CPU while the slowest 1 % waited
          --margin M --leverage L  trade size (default 10 USD at 10x)
          --find-max             step the rate from --rate up by --step-factor (1.25) until a step fails:
                                 errors, achieved < 95 % of planned, or p99 > --max-p99-ms (50);
                                 then --refine (2) bisection steps; --max-rate caps it (200000); before the
                                 first step, --settle (30) unmeasured seconds at --rate let the JIT finish tiering
        """;

    /// <summary>
    /// Below this planned rate a second dispatcher costs 3–7 % of a core (15–35 µs per reply) and keeps
    /// the generator on time while the kernel holds one CPU; above it the machine is busy enough
    /// that the generator's extra CPU would slow the server it measures (docs/benchmarks.md, 25th pass).
    /// </summary>
    public const double SecondDispatcherBelowRate = 5_000;

    /// <summary>How many threads keep the schedule at <paramref name="rate"/>: as asked, or by rate, never more than the CPUs.</summary>
    public int DispatchersFor(double rate) =>
        Math.Min(Dispatchers ?? (rate < SecondDispatcherBelowRate ? 2 : 1), Environment.ProcessorCount);

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            double Number() => double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
            int Whole() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            int? WholeOrAuto() => Next() is var v && v == "auto" ? null : int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--url" => o with { Url = new Uri(Next()) },
                "--traders" => o with { Traders = Whole() },
                "--rate" => o with { Rate = Number() },
                "--seconds" => o with { Seconds = Number() },
                "--warmup" => o with { Warmup = Number() },
                "--connections" => o with { Connections = Whole() },
                "--dispatchers" => o with { Dispatchers = WholeOrAuto() },
                "--timeout" => o with { TimeoutSeconds = Number() },
                "--max-inflight" => o with { MaxInFlight = Whole() },
                "--setup-concurrency" => o with { SetupConcurrency = Whole() },
                "--server-pid" => o with { ServerPid = Whole() },
                "--latency-log" => o with { LatencyLog = Next() },
                "--sched-trace" => o with { SchedTrace = Number() },
                "--margin" => o with { Margin = decimal.Parse(Next(), CultureInfo.InvariantCulture) },
                "--leverage" => o with { Leverage = Whole() },
                "--find-max" => o with { FindMax = true },
                "--step-factor" => o with { StepFactor = Number() },
                "--max-rate" => o with { MaxRate = Number() },
                "--max-p99-ms" => o with { MaxP99Ms = Number() },
                "--refine" => o with { Refine = Whole() },
                "--settle" => o with { Settle = Number() },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }
        if (o.Traders < 1 || o.Rate <= 0 || o.Seconds <= 0 || o.Warmup < 0 || o.Connections < 1 || o.Dispatchers < 1 || o.StepFactor <= 1 || o.SchedTrace < 0)
            throw new ArgumentException("--traders, --rate, --seconds, --connections, --dispatchers must be positive, --warmup and --sched-trace not negative, --step-factor above 1.");
        return o;
    }
}
