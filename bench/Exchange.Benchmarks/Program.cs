using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Exchange.Benchmarks -- --filter '*EngineThroughput*' --job short
// dotnet run -c Release --project bench/Exchange.Benchmarks -- journal [--records N] [--fsync on|off|both]
// dotnet run -c Release --project bench/Exchange.Benchmarks -- durable [--submitters 64] [--seconds 10] [--fsync on|off|both]
// dotnet run -c Release --project bench/Exchange.Benchmarks -- recovery [--trades N] [--records N]
// dotnet run -c Release --project bench/Exchange.Benchmarks -- snapshot [--trades N]
// dotnet run -c Release --project bench/Exchange.Benchmarks -- recorder [--commands N] [--traders N] [--rate N]
if (args is ["journal", ..]) return Exchange.Benchmarks.JournalThroughput.Run(args[1..]);
if (args is ["durable", ..]) return Exchange.Benchmarks.DurableThroughput.Run(args[1..]);
if (args is ["recovery", ..]) return Exchange.Benchmarks.RecoveryTime.Run(args[1..]);
if (args is ["snapshot", ..]) return Exchange.Benchmarks.SnapshotCost.Run(args[1..]);
if (args is ["recorder", ..]) return Exchange.Benchmarks.RecorderThroughput.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
