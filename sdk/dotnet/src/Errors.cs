using System;
using System.Collections.Generic;

namespace Tollgate
{
    /// <summary>
    /// Every failure is a TollgateException with a stable <see cref="Code"/>; each code has its own
    /// class, so a host can <c>catch (LimitReachedException)</c>. Decision reason codes are raised by
    /// <see cref="Decision.AssertAllowed"/> and <c>LicenseAsync</c>; the others come from the companion's
    /// JSON-RPC errors or from the client itself (connection, timeout, a malformed answer).
    /// </summary>
    public class TollgateException : Exception
    {
        public TollgateException(string code, string message, int? rpcCode = null, Decision decision = null)
            : base(message)
        {
            Code = code;
            RpcCode = rpcCode;
            Decision = decision;
        }

        /// <summary>The stable code (a reason code, or e.g. INVALID_PARAMS, TIMEOUT).</summary>
        public string Code { get; private set; }

        /// <summary>The JSON-RPC error code when the companion answered with an error.</summary>
        public int? RpcCode { get; private set; }

        /// <summary>The denial, when the error comes from a decision.</summary>
        public Decision Decision { get; private set; }

        private static readonly Dictionary<string, Func<string, int?, Decision, TollgateException>> Factories =
            new Dictionary<string, Func<string, int?, Decision, TollgateException>>
            {
                { "NOT_SIGNED_IN", (m, r, d) => new NotSignedInException(m, r, d) },
                { "FEATURE_NOT_IN_PLAN", (m, r, d) => new FeatureNotInPlanException(m, r, d) },
                { "LIMIT_REACHED", (m, r, d) => new LimitReachedException(m, r, d) },
                { "SIZE_LIMIT_EXCEEDED", (m, r, d) => new SizeLimitExceededException(m, r, d) },
                { "SUBSCRIPTION_INACTIVE", (m, r, d) => new SubscriptionInactiveException(m, r, d) },
                { "LICENSE_EXPIRED", (m, r, d) => new LicenseExpiredException(m, r, d) },
                { "OFFLINE_GRACE_EXPIRED", (m, r, d) => new OfflineGraceExpiredException(m, r, d) },
                { "CLOCK_TAMPERED", (m, r, d) => new ClockTamperedException(m, r, d) },
                { "LICENSE_INVALID", (m, r, d) => new LicenseInvalidException(m, r, d) },
                { "LEASE_EXHAUSTED", (m, r, d) => new LeaseExhaustedException(m, r, d) },
                { "DEVICE_RELEASED", (m, r, d) => new DeviceReleasedException(m, r, d) },
                { "DEVICE_LIMIT_REACHED", (m, r, d) => new DeviceLimitReachedException(m, r, d) },
                { "PARSE_ERROR", (m, r, d) => new ParseErrorException(m, r, d) },
                { "INVALID_REQUEST", (m, r, d) => new InvalidRequestException(m, r, d) },
                { "METHOD_NOT_FOUND", (m, r, d) => new MethodNotFoundException(m, r, d) },
                { "INVALID_PARAMS", (m, r, d) => new InvalidParamsException(m, r, d) },
                { "INTERNAL", (m, r, d) => new InternalException(m, r, d) },
                { "USAGE_NOT_RECORDED", (m, r, d) => new UsageNotRecordedException(m, r, d) },
                { "PROTOCOL_ERROR", (m, r, d) => new ProtocolException(m, r, d) },
                { "CONNECTION_FAILED", (m, r, d) => new ConnectionFailedException(m, r, d) },
                { "TIMEOUT", (m, r, d) => new TollgateTimeoutException(m, r, d) },
            };

        private static readonly Dictionary<string, Type> Types = new Dictionary<string, Type>
        {
            { "NOT_SIGNED_IN", typeof(NotSignedInException) },
            { "FEATURE_NOT_IN_PLAN", typeof(FeatureNotInPlanException) },
            { "LIMIT_REACHED", typeof(LimitReachedException) },
            { "SIZE_LIMIT_EXCEEDED", typeof(SizeLimitExceededException) },
            { "SUBSCRIPTION_INACTIVE", typeof(SubscriptionInactiveException) },
            { "LICENSE_EXPIRED", typeof(LicenseExpiredException) },
            { "OFFLINE_GRACE_EXPIRED", typeof(OfflineGraceExpiredException) },
            { "CLOCK_TAMPERED", typeof(ClockTamperedException) },
            { "LICENSE_INVALID", typeof(LicenseInvalidException) },
            { "LEASE_EXHAUSTED", typeof(LeaseExhaustedException) },
            { "DEVICE_RELEASED", typeof(DeviceReleasedException) },
            { "DEVICE_LIMIT_REACHED", typeof(DeviceLimitReachedException) },
            { "PARSE_ERROR", typeof(ParseErrorException) },
            { "INVALID_REQUEST", typeof(InvalidRequestException) },
            { "METHOD_NOT_FOUND", typeof(MethodNotFoundException) },
            { "INVALID_PARAMS", typeof(InvalidParamsException) },
            { "INTERNAL", typeof(InternalException) },
            { "USAGE_NOT_RECORDED", typeof(UsageNotRecordedException) },
            { "PROTOCOL_ERROR", typeof(ProtocolException) },
            { "CONNECTION_FAILED", typeof(ConnectionFailedException) },
            { "TIMEOUT", typeof(TollgateTimeoutException) },
        };

        private static readonly Dictionary<int, string> RpcCodes = new Dictionary<int, string>
        {
            { -32700, "PARSE_ERROR" },
            { -32600, "INVALID_REQUEST" },
            { -32601, "METHOD_NOT_FOUND" },
            { -32602, "INVALID_PARAMS" },
            { -32603, "INTERNAL" },
        };

        /// <summary>The typed exception for a code; a code this version does not know is a plain TollgateException.</summary>
        public static TollgateException For(string code, string message, int? rpcCode = null, Decision decision = null)
        {
            Func<string, int?, Decision, TollgateException> factory;
            return Factories.TryGetValue(code, out factory)
                ? factory(message, rpcCode, decision)
                : new TollgateException(code, message, rpcCode, decision);
        }

        /// <summary>The class that stands for a code, or null.</summary>
        public static Type TypeFor(string code)
        {
            Type type;
            return Types.TryGetValue(code, out type) ? type : null;
        }

        internal static TollgateException FromRpc(int rpcCode, string message, object data)
        {
            var map = data as IDictionary<string, object>;
            object reason = null;
            if (map != null) map.TryGetValue("code", out reason);
            var code = reason as string;
            if (code == null && !RpcCodes.TryGetValue(rpcCode, out code)) code = "RPC_ERROR";
            return For(code, message, rpcCode);
        }
    }

    public sealed class NotSignedInException : TollgateException
    {
        public NotSignedInException(string message, int? rpcCode = null, Decision decision = null)
            : base("NOT_SIGNED_IN", message, rpcCode, decision) { }
    }

    public sealed class FeatureNotInPlanException : TollgateException
    {
        public FeatureNotInPlanException(string message, int? rpcCode = null, Decision decision = null)
            : base("FEATURE_NOT_IN_PLAN", message, rpcCode, decision) { }
    }

    public sealed class LimitReachedException : TollgateException
    {
        public LimitReachedException(string message, int? rpcCode = null, Decision decision = null)
            : base("LIMIT_REACHED", message, rpcCode, decision) { }
    }

    public sealed class SizeLimitExceededException : TollgateException
    {
        public SizeLimitExceededException(string message, int? rpcCode = null, Decision decision = null)
            : base("SIZE_LIMIT_EXCEEDED", message, rpcCode, decision) { }
    }

    public sealed class SubscriptionInactiveException : TollgateException
    {
        public SubscriptionInactiveException(string message, int? rpcCode = null, Decision decision = null)
            : base("SUBSCRIPTION_INACTIVE", message, rpcCode, decision) { }
    }

    public sealed class LicenseExpiredException : TollgateException
    {
        public LicenseExpiredException(string message, int? rpcCode = null, Decision decision = null)
            : base("LICENSE_EXPIRED", message, rpcCode, decision) { }
    }

    public sealed class OfflineGraceExpiredException : TollgateException
    {
        public OfflineGraceExpiredException(string message, int? rpcCode = null, Decision decision = null)
            : base("OFFLINE_GRACE_EXPIRED", message, rpcCode, decision) { }
    }

    public sealed class ClockTamperedException : TollgateException
    {
        public ClockTamperedException(string message, int? rpcCode = null, Decision decision = null)
            : base("CLOCK_TAMPERED", message, rpcCode, decision) { }
    }

    public sealed class LicenseInvalidException : TollgateException
    {
        public LicenseInvalidException(string message, int? rpcCode = null, Decision decision = null)
            : base("LICENSE_INVALID", message, rpcCode, decision) { }
    }

    /// <summary>Offline past this device's quota lease: show "connect to continue".</summary>
    public sealed class LeaseExhaustedException : TollgateException
    {
        public LeaseExhaustedException(string message, int? rpcCode = null, Decision decision = null)
            : base("LEASE_EXHAUSTED", message, rpcCode, decision) { }
    }

    /// <summary>The user released this computer from the account: show "signed out on this computer; sign in to use it again".</summary>
    public sealed class DeviceReleasedException : TollgateException
    {
        public DeviceReleasedException(string message, int? rpcCode = null, Decision decision = null)
            : base("DEVICE_RELEASED", message, rpcCode, decision) { }
    }

    /// <summary>Every device place of the plan is in use: show "release another computer in the companion, or upgrade".</summary>
    public sealed class DeviceLimitReachedException : TollgateException
    {
        public DeviceLimitReachedException(string message, int? rpcCode = null, Decision decision = null)
            : base("DEVICE_LIMIT_REACHED", message, rpcCode, decision) { }
    }

    public sealed class ParseErrorException : TollgateException
    {
        public ParseErrorException(string message, int? rpcCode = null, Decision decision = null)
            : base("PARSE_ERROR", message, rpcCode, decision) { }
    }

    public sealed class InvalidRequestException : TollgateException
    {
        public InvalidRequestException(string message, int? rpcCode = null, Decision decision = null)
            : base("INVALID_REQUEST", message, rpcCode, decision) { }
    }

    public sealed class MethodNotFoundException : TollgateException
    {
        public MethodNotFoundException(string message, int? rpcCode = null, Decision decision = null)
            : base("METHOD_NOT_FOUND", message, rpcCode, decision) { }
    }

    public sealed class InvalidParamsException : TollgateException
    {
        public InvalidParamsException(string message, int? rpcCode = null, Decision decision = null)
            : base("INVALID_PARAMS", message, rpcCode, decision) { }
    }

    public sealed class InternalException : TollgateException
    {
        public InternalException(string message, int? rpcCode = null, Decision decision = null)
            : base("INTERNAL", message, rpcCode, decision) { }
    }

    public sealed class UsageNotRecordedException : TollgateException
    {
        public UsageNotRecordedException(string message, int? rpcCode = null, Decision decision = null)
            : base("USAGE_NOT_RECORDED", message, rpcCode, decision) { }
    }

    public sealed class ProtocolException : TollgateException
    {
        public ProtocolException(string message, int? rpcCode = null, Decision decision = null)
            : base("PROTOCOL_ERROR", message, rpcCode, decision) { }
    }

    public sealed class ConnectionFailedException : TollgateException
    {
        public ConnectionFailedException(string message, int? rpcCode = null, Decision decision = null)
            : base("CONNECTION_FAILED", message, rpcCode, decision) { }
    }

    public sealed class TollgateTimeoutException : TollgateException
    {
        public TollgateTimeoutException(string message, int? rpcCode = null, Decision decision = null)
            : base("TIMEOUT", message, rpcCode, decision) { }
    }

}
