namespace Exchange.Feed;

/// <summary>A feed setting is wrong. The message is one line and starts with the variable's name.</summary>
public sealed class FeedConfigurationException : Exception
{
    public FeedConfigurationException() { }

    public FeedConfigurationException(string message) : base(message) { }

    public FeedConfigurationException(string message, Exception inner) : base(message, inner) { }

    public FeedConfigurationException(string variable, string problem, Exception? inner = null)
        : base($"{variable}: {problem}", inner) => Variable = variable;

    public string? Variable { get; }
}
