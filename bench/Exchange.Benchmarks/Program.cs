using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Exchange.Benchmarks -- --filter '*EngineThroughput*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
