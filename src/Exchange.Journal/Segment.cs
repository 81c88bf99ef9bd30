using System.Globalization;

namespace Exchange.Journal;

/// <summary>A segment file, named by the sequence of its first record so listing sorts them.</summary>
internal sealed record Segment(string Path, long FirstSequence)
{
    private const string Extension = ".seg";

    public static Segment For(string directory, long firstSequence) =>
        new(System.IO.Path.Combine(directory, firstSequence.ToString("D20", CultureInfo.InvariantCulture) + Extension), firstSequence);

    public static List<Segment> List(string directory)
    {
        var segments = new List<Segment>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(path);
            if (name.Length == 20 && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var first))
                segments.Add(new Segment(path, first));
        }
        segments.Sort((a, b) => a.FirstSequence.CompareTo(b.FirstSequence));
        return segments;
    }
}
