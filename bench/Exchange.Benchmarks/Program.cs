using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Exchange.Benchmarks -- --filter '*EngineThroughput*' --job short
// dotnet run -c Release --project bench/Exchange.Benchmarks -- journal [--records N] [--fsync on|off|both]
if (args is ["journal", ..]) return Exchange.Benchmarks.JournalThroughput.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
