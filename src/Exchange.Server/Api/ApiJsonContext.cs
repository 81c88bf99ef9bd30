using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace Exchange.Server.Api;

/// <summary>Source-generated JSON for every wire type (camelCase, strict numbers: "NaN" or "1e999" is a 400).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    NumberHandling = JsonNumberHandling.Strict,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(EngineRequest))]
[JsonSerializable(typeof(OpenTradeRequest))]
[JsonSerializable(typeof(EngineEnvelope))]
[JsonSerializable(typeof(EngineResponse))]
[JsonSerializable(typeof(AccountCreatedData))]
[JsonSerializable(typeof(BalanceData))]
[JsonSerializable(typeof(UsdBalanceData))]
[JsonSerializable(typeof(TradeData))]
[JsonSerializable(typeof(CloseTradeData))]
[JsonSerializable(typeof(TradePage<OpenTradeView>))]
[JsonSerializable(typeof(TradePage<ClosedTradeView>))]
[JsonSerializable(typeof(List<AssetView>))]
[JsonSerializable(typeof(IReadOnlyList<PriceView>))]
[JsonSerializable(typeof(PriceView))]
[JsonSerializable(typeof(List<CandleView>))]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(AuthResult))]
[JsonSerializable(typeof(UserView))]
[JsonSerializable(typeof(SessionView))]
[JsonSerializable(typeof(OrderView))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
