using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Tollgate
{
    /// <summary>
    /// A small JSON reader and writer (netstandard2.0 has none in the BCL): objects are
    /// <c>Dictionary&lt;string, object&gt;</c>, arrays <c>List&lt;object&gt;</c>, numbers <c>long</c> or
    /// <c>double</c>, plus <c>string</c>, <c>bool</c> and <c>null</c>.
    /// </summary>
    public static class Json
    {
        public static object Parse(string text)
        {
            var reader = new Reader(text);
            reader.SkipSpace();
            var value = reader.ReadValue(0);
            reader.SkipSpace();
            if (!reader.AtEnd) throw new FormatException("Trailing characters after the JSON value.");
            return value;
        }

        public static string Serialize(object value)
        {
            var builder = new StringBuilder();
            Write(builder, value);
            return builder.ToString();
        }

        private static void Write(StringBuilder builder, object value)
        {
            if (value == null) { builder.Append("null"); return; }
            var text = value as string;
            if (text != null) { WriteString(builder, text); return; }
            if (value is bool) { builder.Append((bool)value ? "true" : "false"); return; }
            if (value is int || value is long || value is short || value is byte)
            {
                builder.Append(Convert.ToInt64(value).ToString(CultureInfo.InvariantCulture));
                return;
            }
            if (value is double || value is float || value is decimal)
            {
                builder.Append(Convert.ToDouble(value).ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            var map = value as IDictionary<string, object>;
            if (map != null)
            {
                builder.Append('{');
                var first = true;
                foreach (var entry in map)
                {
                    if (!first) builder.Append(',');
                    first = false;
                    WriteString(builder, entry.Key);
                    builder.Append(':');
                    Write(builder, entry.Value);
                }
                builder.Append('}');
                return;
            }
            var list = value as System.Collections.IEnumerable;
            if (list != null)
            {
                builder.Append('[');
                var first = true;
                foreach (var item in list)
                {
                    if (!first) builder.Append(',');
                    first = false;
                    Write(builder, item);
                }
                builder.Append(']');
                return;
            }
            throw new ArgumentException("Cannot write " + value.GetType() + " as JSON.");
        }

        private static void WriteString(StringBuilder builder, string text)
        {
            builder.Append('"');
            foreach (var c in text)
            {
                switch (c)
                {
                    case '"': builder.Append("\\\""); break;
                    case '\\': builder.Append("\\\\"); break;
                    case '\n': builder.Append("\\n"); break;
                    case '\r': builder.Append("\\r"); break;
                    case '\t': builder.Append("\\t"); break;
                    default:
                        if (c < 0x20) builder.Append("\\u").Append(((int)c).ToString("x4"));
                        else builder.Append(c);
                        break;
                }
            }
            builder.Append('"');
        }

        private sealed class Reader
        {
            private const int MaxDepth = 64;
            private readonly string _text;
            private int _at;

            public Reader(string text) { _text = text; }

            public bool AtEnd { get { return _at >= _text.Length; } }

            public void SkipSpace()
            {
                while (_at < _text.Length && (_text[_at] == ' ' || _text[_at] == '\t' || _text[_at] == '\n' || _text[_at] == '\r')) _at++;
            }

            private char Next()
            {
                if (_at >= _text.Length) throw new FormatException("Unexpected end of JSON.");
                return _text[_at++];
            }

            public object ReadValue(int depth)
            {
                if (depth > MaxDepth) throw new FormatException("JSON nested too deeply.");
                if (AtEnd) throw new FormatException("Unexpected end of JSON.");
                var c = _text[_at];
                if (c == '{') return ReadObject(depth);
                if (c == '[') return ReadArray(depth);
                if (c == '"') return ReadString();
                if (c == 't') return Literal("true", true);
                if (c == 'f') return Literal("false", false);
                if (c == 'n') return Literal("null", null);
                if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                throw new FormatException("Unexpected character '" + c + "' in JSON.");
            }

            private object Literal(string word, object value)
            {
                if (string.CompareOrdinal(_text, _at, word, 0, word.Length) != 0) throw new FormatException("Invalid JSON literal.");
                _at += word.Length;
                return value;
            }

            private object ReadNumber()
            {
                var start = _at;
                var integral = true;
                while (_at < _text.Length)
                {
                    var c = _text[_at];
                    if (c == '.' || c == 'e' || c == 'E') integral = false;
                    else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) break;
                    _at++;
                }
                var token = _text.Substring(start, _at - start);
                long whole;
                if (integral && long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out whole)) return whole;
                double number;
                if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out number)) return number;
                throw new FormatException("Invalid JSON number " + token + ".");
            }

            private string ReadString()
            {
                Next(); // the opening quote
                var builder = new StringBuilder();
                while (true)
                {
                    var c = Next();
                    if (c == '"') return builder.ToString();
                    if (c < 0x20) throw new FormatException("Control character in a JSON string.");
                    if (c != '\\') { builder.Append(c); continue; }
                    var escaped = Next();
                    switch (escaped)
                    {
                        case '"': builder.Append('"'); break;
                        case '\\': builder.Append('\\'); break;
                        case '/': builder.Append('/'); break;
                        case 'b': builder.Append('\b'); break;
                        case 'f': builder.Append('\f'); break;
                        case 'n': builder.Append('\n'); break;
                        case 'r': builder.Append('\r'); break;
                        case 't': builder.Append('\t'); break;
                        case 'u':
                            if (_at + 4 > _text.Length) throw new FormatException("Truncated \\u escape.");
                            builder.Append((char)int.Parse(_text.Substring(_at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                            _at += 4;
                            break;
                        default: throw new FormatException("Invalid escape in a JSON string.");
                    }
                }
            }

            private Dictionary<string, object> ReadObject(int depth)
            {
                Next();
                var map = new Dictionary<string, object>();
                SkipSpace();
                if (!AtEnd && _text[_at] == '}') { _at++; return map; }
                while (true)
                {
                    SkipSpace();
                    if (AtEnd || _text[_at] != '"') throw new FormatException("Expected a property name in JSON.");
                    var key = ReadString();
                    SkipSpace();
                    if (Next() != ':') throw new FormatException("Expected ':' in JSON.");
                    SkipSpace();
                    map[key] = ReadValue(depth + 1);
                    SkipSpace();
                    var c = Next();
                    if (c == '}') return map;
                    if (c != ',') throw new FormatException("Expected ',' or '}' in JSON.");
                }
            }

            private List<object> ReadArray(int depth)
            {
                Next();
                var list = new List<object>();
                SkipSpace();
                if (!AtEnd && _text[_at] == ']') { _at++; return list; }
                while (true)
                {
                    SkipSpace();
                    list.Add(ReadValue(depth + 1));
                    SkipSpace();
                    var c = Next();
                    if (c == ']') return list;
                    if (c != ',') throw new FormatException("Expected ',' or ']' in JSON.");
                }
            }
        }
    }
}
