using System.Diagnostics;
using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>
/// How late this machine wakes a sleeping thread: sleeps of 0.5 ms (nanosleep, as the
/// dispatcher sleeps) in a loop, each measured, for <c>--seconds</c> (default 10). Every request
/// of the exchange crosses several such wake-ups (socket, thread pool, engine, journal writer,
/// reply), so this is a floor under the latency tail that no code on this machine can go below.
/// <code>dotnet run -c Release --project bench/LoadTest -- jitter [--seconds 10]</code>
/// </summary>
public static class WakeupJitter
{
    public static int Run(string[] args)
    {
        var seconds = args is ["--seconds", var s] ? double.Parse(s, CultureInfo.InvariantCulture) : 10;
        var sleep = Stopwatch.Frequency / 2_000; // 0.5 ms
        var late = new LatencyHistogram();
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var due = Stopwatch.GetTimestamp() + sleep;
            PreciseSleep.Until(due);
            late.RecordTicks(Stopwatch.GetTimestamp() - due);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wake-up after a 0.5 ms sleep, {late.Count:N0} sleeps in {seconds:F0} s: late by p50 {StepResult.Ms(late.PercentileMicros(50))}, " +
            $"p90 {StepResult.Ms(late.PercentileMicros(90))}, p99 {StepResult.Ms(late.PercentileMicros(99))}, " +
            $"p99.9 {StepResult.Ms(late.PercentileMicros(99.9))}, max {StepResult.Ms(late.MaxMicros)} ms"));
        return 0;
    }
}
