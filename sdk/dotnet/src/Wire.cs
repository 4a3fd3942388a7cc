using System;
using System.Collections.Generic;

namespace Tollgate
{
    /// <summary>A decision: may the user do this now? A denial is an answer, not an error.</summary>
    public sealed class Decision
    {
        private static readonly HashSet<string> ReasonCodes = new HashSet<string>
        {
            "OK", "NOT_SIGNED_IN", "FEATURE_NOT_IN_PLAN", "LIMIT_REACHED", "SIZE_LIMIT_EXCEEDED",
            "SUBSCRIPTION_INACTIVE", "LICENSE_EXPIRED", "OFFLINE_GRACE_EXPIRED", "CLOCK_TAMPERED", "LICENSE_INVALID",
            "LEASE_EXHAUSTED",
            "DEVICE_RELEASED", "DEVICE_LIMIT_REACHED",
        };

        private Decision() { }

        public bool Allowed { get; private set; }
        public string Code { get; private set; }
        /// <summary>Units left before this request; null when unlimited (or for a feature gate).</summary>
        public long? Remaining { get; private set; }
        public long? Limit { get; private set; }
        /// <summary>The cheapest tier that would allow the request (tier, name, monthlyPriceCents, …), or null.</summary>
        public IDictionary<string, object> Upgrade { get; private set; }
        /// <summary>The answer as received.</summary>
        public IDictionary<string, object> Raw { get; private set; }

        /// <summary>Throws the typed exception for a denial (LimitReachedException, …); returns an allowed decision.</summary>
        public Decision AssertAllowed()
        {
            if (Allowed) return this;
            var suffix = Upgrade != null && Upgrade.ContainsKey("name") ? " - upgrade to " + Upgrade["name"] : "";
            throw TollgateException.For(Code, "Denied: " + Code + suffix, null, this);
        }

        internal static Decision From(object value)
        {
            var map = value as IDictionary<string, object>;
            if (map == null) return null;
            object allowed, code, remaining, limit, upgrade;
            if (!map.TryGetValue("allowed", out allowed) || !(allowed is bool)) return null;
            if (!map.TryGetValue("code", out code) || !(code is string) || !ReasonCodes.Contains((string)code)) return null;
            map.TryGetValue("remaining", out remaining);
            map.TryGetValue("limit", out limit);
            map.TryGetValue("upgrade", out upgrade);
            if ((remaining != null && !(remaining is long)) || (limit != null && !(limit is long))) return null;
            if (upgrade != null && !(upgrade is IDictionary<string, object>)) return null;
            return new Decision
            {
                Allowed = (bool)allowed,
                Code = (string)code,
                Remaining = (long?)remaining,
                Limit = (long?)limit,
                Upgrade = (IDictionary<string, object>)upgrade,
                Raw = map,
            };
        }
    }

    /// <summary>The answer to usage.consume.</summary>
    public sealed class ConsumeOutcome
    {
        private ConsumeOutcome() { }

        public Decision Decision { get; private set; }
        public string IdempotencyKey { get; private set; }
        /// <summary>True when this key was already recorded: nothing was counted again.</summary>
        public bool Replayed { get; private set; }
        public IDictionary<string, object> Raw { get; private set; }

        internal static ConsumeOutcome From(object value)
        {
            var map = value as IDictionary<string, object>;
            if (map == null) return null;
            object decision, key, replayed;
            map.TryGetValue("decision", out decision);
            map.TryGetValue("idempotencyKey", out key);
            map.TryGetValue("replayed", out replayed);
            var parsed = Decision.From(decision);
            if (parsed == null || !(replayed is bool) || (key != null && !(key is string))) return null;
            return new ConsumeOutcome { Decision = parsed, IdempotencyKey = (string)key, Replayed = (bool)replayed, Raw = map };
        }
    }

    /// <summary>One of the account's active devices (<c>devices.list</c>).</summary>
    public sealed class Device
    {
        private Device() { }

        public string DeviceId { get; private set; }
        public string Name { get; private set; }
        public string Os { get; private set; }
        public string AppVersion { get; private set; }
        /// <summary>ISO 8601 times, as the companion sends them.</summary>
        public string ActivatedAt { get; private set; }
        public string LastSeenAt { get; private set; }
        /// <summary>True for the computer asking.</summary>
        public bool ThisDevice { get; private set; }

        internal static Device From(object value)
        {
            var map = value as IDictionary<string, object>;
            if (map == null) return null;
            var id = Wire.Get(map, "deviceId") as string;
            var thisDevice = Wire.Get(map, "thisDevice");
            if (id == null || !(thisDevice is bool)) return null;
            return new Device
            {
                DeviceId = id,
                Name = Wire.Get(map, "name") as string,
                Os = Wire.Get(map, "os") as string,
                AppVersion = Wire.Get(map, "appVersion") as string,
                ActivatedAt = Wire.Get(map, "activatedAt") as string,
                LastSeenAt = Wire.Get(map, "lastSeenAt") as string,
                ThisDevice = (bool)thisDevice,
            };
        }
    }

    /// <summary>The answer to devices.list.</summary>
    public sealed class DeviceList
    {
        private DeviceList() { }

        public IReadOnlyList<Device> Devices { get; private set; }
        /// <summary>The plan's device limit; -1 is unlimited.</summary>
        public long MaxDevices { get; private set; }
        public IDictionary<string, object> Raw { get; private set; }

        internal static DeviceList From(object value)
        {
            var map = value as IDictionary<string, object>;
            if (map == null) return null;
            var max = Wire.Get(map, "maxDevices");
            var raw = Wire.Get(map, "devices") as List<object>;
            if (!(max is long) || raw == null) return null;
            var devices = new List<Device>();
            foreach (var item in raw)
            {
                var device = Device.From(item);
                if (device == null) return null;
                devices.Add(device);
            }
            return new DeviceList { Devices = devices, MaxDevices = (long)max, Raw = map };
        }
    }

    /// <summary>What <c>LicenseAsync</c> returns.</summary>
    public sealed class LicenseResult
    {
        internal LicenseResult(string token, IDictionary<string, object> license, IDictionary<string, object> claims)
        {
            Token = token;
            License = license;
            Claims = claims;
        }

        /// <summary>The compact JWS (alg EdDSA) the claims were verified from.</summary>
        public string Token { get; private set; }
        /// <summary>The companion's view: status, problem, tier, features, limits, …</summary>
        public IDictionary<string, object> License { get; private set; }
        /// <summary>The token's claims, verified against the pinned keys.</summary>
        public IDictionary<string, object> Claims { get; private set; }
    }

    internal static class Wire
    {
        public static bool IsObject(object value) { return value is IDictionary<string, object>; }

        public static object Get(object map, string key)
        {
            var dictionary = map as IDictionary<string, object>;
            object value;
            return dictionary != null && dictionary.TryGetValue(key, out value) ? value : null;
        }

        public static bool IsUsage(object value)
        {
            return Get(value, "period") is string && IsObject(Get(value, "operations")) && IsObject(Get(value, "apiCalls"));
        }

        public static bool IsLicenseView(object value)
        {
            var status = Get(value, "status") as string;
            return (status == "none" || status == "valid" || status == "invalid") && Get(value, "features") is List<object>;
        }

        public static bool IsLicenseAnswer(object value)
        {
            var dictionary = value as IDictionary<string, object>;
            if (dictionary == null || !dictionary.ContainsKey("token")) return false;
            var token = dictionary["token"];
            return (token == null || token is string) && IsLicenseView(Get(value, "license"));
        }

        public static bool IsLicenseChanged(object value)
        {
            return IsLicenseView(Get(value, "license")) && Get(value, "effectiveTier") is string && IsObject(Get(value, "standing"));
        }
    }
}
