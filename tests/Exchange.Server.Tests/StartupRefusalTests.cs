using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Exchange.Server.Tests;

/// <summary>
/// The real server process refuses to start with one line on standard error, and exit code 2,
/// when its configuration cannot work: a bad value, a data folder that cannot be one or is in
/// use by another exchange or does not belong to the database, an address already taken.
/// </summary>
public sealed class StartupRefusalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "ENGINE_SNAPSHOT_INTERVAL", "soon", "ENGINE_SNAPSHOT_INTERVAL=soon is invalid" },
        { "ENGINE_MAX_SNAPSHOTS", "0", "ENGINE_MAX_SNAPSHOTS=0 is invalid" },
        { "AUTH_RATE_LIMIT_PER_MINUTE", "-5", "AUTH_RATE_LIMIT_PER_MINUTE=-5 is invalid" },
        { "STREAM_LIMIT_PER_CLIENT", "0", "STREAM_LIMIT_PER_CLIENT=0 is invalid" },
        { "HISTORY_WAIT_MS", "0", "HISTORY_WAIT_MS=0 is invalid" },
        { "EXCHANGE_ROLES", "api,matcher", "EXCHANGE_ROLES=api,matcher is invalid" },
        { "EXCHANGE_ROLES", "feed", "EXCHANGE_ROLES without api or engine" },
        { "REDIS_URL", "redis://localhost:6379", "REDIS_URL is set" },
        { "AUTH_JWT_SECRET", "too-short", "AUTH_JWT_SECRET is too short" },
        { "POLLER_UPDATE_INTERVAL", "fast", "POLLER_UPDATE_INTERVAL" },
        { "POLLER_ASSETS", "DOGE", "POLLER_ASSETS" },
        { "CANDLE_BACKFILL", "maybe", "CANDLE_BACKFILL=maybe is invalid" },
        { "DATABASE_URL", "mysql://user:secret@localhost/exchange", "DATABASE_URL must look like postgresql://" },
        { "POLLER_SOURCE", "replay:/no/such/prices.csv", "cannot read the file" },
        { "POLLER_UPDATE_INTERVAL", "20000", "orders would be rejected between ticks" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task A_bad_setting_stops_the_process_with_one_line_naming_it(string name, string value, string expected)
    {
        var run = await ServerRun.UntilExitAsync(Settings(_dir, (name, value)));

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("exchange: ", run.SingleErrorLine());
        Assert.Contains(expected, run.SingleErrorLine());
    }

    [Fact]
    public async Task A_replay_file_with_a_bad_row_stops_the_process_with_one_line_naming_it()
    {
        var file = Path.Combine(_dir, "prices.csv");
        await File.WriteAllLinesAsync(file, ["timestamp,asset,bid,ask", "1700000000000,SOL_USDC,240,239"]);

        var run = await ServerRun.UntilExitAsync(Settings(_dir, ("POLLER_SOURCE", "replay:" + file)));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("line 2", run.SingleErrorLine());
        Assert.DoesNotContain("Recovered", run.Output); // refused before recovery
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_new_data_folder_is_made_for_its_owner_only()
    {
        var fresh = Path.Combine(_dir, "fresh");

        await using (await ServerRun.StartAsync(Settings(fresh))) { }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fresh));
    }

    [Fact]
    public async Task A_replay_file_without_rows_for_a_traded_asset_stops_the_process_with_one_line()
    {
        var file = Path.Combine(_dir, "btc-only.csv");
        await File.WriteAllLinesAsync(file, ["timestamp,asset,bid,ask", "1700000000000,BTC_USDC,95000,95010"]);

        var run = await ServerRun.UntilExitAsync(Settings(_dir, ("POLLER_SOURCE", "replay:" + file)));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("the replay file has no rows for ETH_USDC, SOL_USDC", run.SingleErrorLine());
    }

    [Fact]
    public async Task Help_prints_the_usage_and_starts_nothing()
    {
        var run = await ServerRun.UntilExitAsync(Settings(_dir), "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("usage: Exchange.Server", run.Output);
        Assert.False(Directory.Exists(Path.Combine(_dir, "journal")));
    }

    [Fact]
    public async Task Outside_development_a_missing_jwt_secret_stops_the_process_with_one_line()
    {
        var run = await ServerRun.UntilExitAsync(Settings(_dir, ("AUTH_JWT_SECRET", "")));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("AUTH_JWT_SECRET is required outside Development", run.SingleErrorLine());
    }

    [Fact]
    public async Task A_data_folder_that_is_a_file_stops_the_process_with_one_line()
    {
        var file = Path.Combine(_dir, "not-a-folder");
        await File.WriteAllTextAsync(file, "");

        var run = await ServerRun.UntilExitAsync(Settings(file));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"EXCHANGE_DATA_DIR={file} is not usable as the data folder", run.SingleErrorLine());
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_folder_is_refused_before_it_touches_anything()
    {
        await using var first = await ServerRun.StartAsync(Settings(_dir));
        var journalBefore = JournalBytes();

        var second = await ServerRun.UntilExitAsync(Settings(_dir));

        Assert.Equal(2, second.ExitCode);
        Assert.Contains($"The data folder {_dir} is in use by another exchange process", second.SingleErrorLine());
        Assert.DoesNotContain("Recovered", second.Output); // refused before recovery, not half-way through start-up
        Assert.Equal(journalBefore, JournalBytes());
    }

    [Fact]
    public async Task A_data_folder_reset_while_its_database_was_kept_is_refused_before_it_takes_input()
    {
        await RecordAnAccountAsync();
        Directory.Delete(Path.Combine(_dir, "journal"), recursive: true);
        Directory.Delete(Path.Combine(_dir, "snapshots"), recursive: true);

        var run = await ServerRun.UntilExitAsync(Settings(_dir));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("the data folder was reset, replaced or restored from an older copy while the database was kept", run.SingleErrorLine());
        Assert.DoesNotContain("Prices from", run.Output); // the feed never started
        Assert.DoesNotContain("Hosting failed to start", run.Output); // one line, no stack trace before it
    }

    [Fact]
    public async Task A_database_with_more_events_than_the_data_folder_is_refused_without_a_final_snapshot()
    {
        await RecordAnAccountAsync();
        // As if the folder were an older copy: the database has recorded events it never made.
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, "exchange.db")};Pooling=False"))
        {
            await db.OpenAsync();
            await using var ahead = db.CreateCommand();
            ahead.CommandText = "UPDATE \"RecorderCursor\" SET \"LastEventSequence\" = 1000000";
            Assert.Equal(1, await ahead.ExecuteNonQueryAsync());
        }
        var snapshots = Directory.GetFiles(Path.Combine(_dir, "snapshots"));

        var run = await ServerRun.UntilExitAsync(Settings(_dir));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("The database has recorded events up to 1000000", run.SingleErrorLine());
        Assert.Equal(snapshots, Directory.GetFiles(Path.Combine(_dir, "snapshots")));
    }

    [Fact]
    public async Task A_last_batch_torn_out_of_order_by_a_power_cut_is_refused_with_the_way_out_and_the_exchange_starts_after_cut_tail()
    {
        var (token, orderId) = await RecordAnAccountAsync(thenRunFor: TimeSpan.FromSeconds(2.5)); // ~7 price ticks after it
        // The price ticks journaled after the account: a hole in the third last record, the two after it whole,
        // as when the page in between never reached the disk.
        var segment = Directory.GetFiles(Path.Combine(_dir, "journal"), "*.seg").Order(StringComparer.Ordinal).Last();
        var bytes = await File.ReadAllBytesAsync(segment);
        var records = RecordOffsets(bytes);
        Assert.True(records.Count >= 4, $"only {records.Count} records journaled");
        var hole = records[^3];
        Array.Clear(bytes, hole.Offset, hole.Length);
        await File.WriteAllBytesAsync(segment, bytes);

        var refused = await ServerRun.UntilExitAsync(Settings(_dir));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"corrupt at offset {hole.Offset}", refused.SingleErrorLine());
        Assert.Contains("`Exchange.Server data cut-tail` says what setting it aside would cut", refused.SingleErrorLine());

        var cut = await ServerRun.UntilExitAsync(Settings(_dir), "data", "cut-tail", "--yes");
        Assert.Equal(0, cut.ExitCode);
        Assert.Contains($"at offset {hole.Offset}: the bad record and 2 whole record(s)", cut.Output);
        Assert.Equal(bytes[hole.Offset..], await File.ReadAllBytesAsync(Directory.GetFiles(Path.Combine(_dir, "journal"), "cut-*.bin").Single()));

        await using var server = await ServerRun.StartAsync(Settings(_dir));
        using var client = OrdersAfterCrashTests.Client(server);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var order = await client.GetAsync($"/api/v1/orders/{orderId}");
        Assert.Equal(HttpStatusCode.OK, order.StatusCode);
        var balance = await client.GetFromJsonAsync<JsonObject>("/api/v1/balance");
        Assert.NotNull(balance);
    }

    [Fact]
    public async Task A_cut_that_took_an_acknowledged_order_is_refused_at_start_and_undone_by_appending_the_saved_bytes()
    {
        var (token, orderId) = await RecordAnAccountAsync(thenRunFor: TimeSpan.FromSeconds(1));
        var segment = Directory.GetFiles(Path.Combine(_dir, "journal"), "*.seg").Order(StringComparer.Ordinal).Last();
        var bytes = await File.ReadAllBytesAsync(segment);
        var records = RecordOffsets(bytes);
        // The payload's second byte is the input's kind: 1 is CREATE_ACCOUNT. A hole in the price tick before it.
        var account = records.FindIndex(r => bytes[r.Offset + 16 + 1] == 1);
        Assert.True(account >= 1, "no price tick journaled before the account");
        var hole = records[account - 1];
        var original = bytes.ToArray();
        Array.Clear(bytes, hole.Offset, hole.Length);
        await File.WriteAllBytesAsync(segment, bytes);

        var cut = await ServerRun.UntilExitAsync(Settings(_dir), "data", "cut-tail", "--yes");
        Assert.Equal(0, cut.ExitCode);

        // The database recorded the account's order, which the cut took: it was acknowledged.
        var refused = await ServerRun.UntilExitAsync(Settings(_dir));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("The database holds orders up to input", refused.SingleErrorLine());

        var saved = Directory.GetFiles(Path.Combine(_dir, "journal"), "cut-*.bin").Single();
        await using (var stream = new FileStream(segment, FileMode.Append)) await stream.WriteAsync(await File.ReadAllBytesAsync(saved));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment));
        // Put the page back as the disk had it before the power cut, and the exchange starts with the order.
        await File.WriteAllBytesAsync(segment, original);
        await using var server = await ServerRun.StartAsync(Settings(_dir));
        using var client = OrdersAfterCrashTests.Client(server);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/orders/{orderId}")).StatusCode);
    }

    /// <summary>Offset and length of each whole record of a segment (<c>u32 length | u32 crc | i64 sequence | payload</c>), up to the zeros after them.</summary>
    private static List<(int Offset, int Length)> RecordOffsets(byte[] segment)
    {
        var records = new List<(int, int)>();
        for (var at = 0; at + 16 <= segment.Length;)
        {
            var length = 16 + BitConverter.ToInt32(segment, at);
            if (length == 16 || at + length > segment.Length) break;
            records.Add((at, length));
            at += length;
        }
        return records;
    }

    /// <summary>A trader signs up and opens an account, whose order the recorder has written; then (after <paramref name="thenRunFor"/>) the server is killed.</summary>
    private async Task<(string Token, string OrderId)> RecordAnAccountAsync(TimeSpan thenRunFor = default)
    {
        await using var server = await ServerRun.StartAsync(Settings(_dir));
        using var client = OrdersAfterCrashTests.Client(server);
        client.DefaultRequestHeaders.Authorization = new("Bearer", await OrdersAfterCrashTests.SignUpAsync(client));
        var account = await client.PostAsJsonAsync("/api/v1/engine", new { command = "CREATE_ACCOUNT" });
        var orderId = (await account.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>();
        (await client.GetAsync($"/api/v1/orders/{orderId}")).EnsureSuccessStatusCode(); // recorded by now
        await Task.Delay(thenRunFor);
        await server.KillAsync();
        return (client.DefaultRequestHeaders.Authorization.Parameter!, orderId);
    }

    [Fact]
    public async Task An_address_in_use_stops_the_process_with_a_last_line_saying_so()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var run = await ServerRun.UntilExitAsync(Settings(_dir, ("ASPNETCORE_URLS", $"http://127.0.0.1:{port}")));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"Failed to bind to address http://127.0.0.1:{port}: address already in use", run.SingleErrorLine());
        Assert.DoesNotContain("Unhandled exception", run.Output);
        // What started before the refusal stops in order: the recorder still runs for the final snapshot.
        Assert.DoesNotContain("skipped: the event recorder is behind", run.Output);
        Assert.DoesNotContain("ObjectDisposedException", run.Output);
        Assert.DoesNotContain("Hosting failed to start", run.Output);
    }

    private long JournalBytes() =>
        Directory.EnumerateFiles(Path.Combine(_dir, "journal")).Sum(f => new FileInfo(f).Length);

    /// <summary>A production-like environment on a free port; <paramref name="overrides"/> win (an empty value unsets).</summary>
    internal static Dictionary<string, string?> Settings(string dataDir, params (string Name, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["AUTH_JWT_SECRET"] = ExchangeApp.JwtSecret,
            ["EXCHANGE_DATA_DIR"] = dataDir,
            ["HISTORY_WAIT_MS"] = "30000", // a read after a write waits for the recorder, which a busy machine can stall for seconds
        };
        foreach (var (name, value) in overrides) settings[name] = value.Length == 0 ? null : value;
        return settings;
    }
}

/// <summary>The built <c>Exchange.Server</c> run as its own process, its output collected.</summary>
internal sealed class ServerRun : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _errors = [];
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerRun(Dictionary<string, string?> environment, string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Exchange.Server.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var name in new[] { "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "EXCHANGE_DATA_DIR", "DATABASE_URL", "REDIS_URL" })
            info.Environment.Remove(name); // the test runner's own settings must not leak in
        foreach (var (name, value) in environment)
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_output) _output.Add(e.Data);
            const string listening = "Now listening on: ";
            if (e.Data.IndexOf(listening, StringComparison.Ordinal) is var at and >= 0 && !_listening.Task.IsCompleted)
            {
                Address = new Uri(e.Data[(at + listening.Length)..].Trim());
                _listening.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (_errors) _errors.Add(e.Data);
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Where the server listens, once started.</summary>
    public Uri? Address { get; private set; }

    public string Output
    {
        get { lock (_output) return string.Join('\n', _output); }
    }

    public string SingleErrorLine()
    {
        lock (_errors) return Assert.Single(_errors);
    }

    public static async Task<ServerRun> UntilExitAsync(Dictionary<string, string?> environment, params string[] arguments)
    {
        var run = new ServerRun(environment, arguments);
        await run._process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return run;
    }

    /// <summary>Started and listening.</summary>
    public static async Task<ServerRun> StartAsync(Dictionary<string, string?> environment)
    {
        var run = new ServerRun(environment, []);
        await Task.WhenAny(run._listening.Task, run._process.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(run._listening.Task.IsCompleted, $"the server did not start:\n{run.Output}\n{string.Join('\n', run._errors)}");
        return run;
    }

    /// <summary>SIGKILL: no shutdown, no final snapshot, no recorder flush.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
