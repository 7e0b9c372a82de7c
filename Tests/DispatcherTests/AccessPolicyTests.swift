import RunnerProtocol
import Testing
@testable import Dispatcher

/// The access rules without a server: each case is a request an attacker or a careless client sends.
@Suite struct AccessPolicyTests {
    func head(_ headers: [String: String], method: String = "POST", uri: String = "/rpc") -> AccessPolicy.RequestHead {
        .init(method: method, uri: uri, headers: headers)
    }

    func isRefused(_ verdict: AccessPolicy.Verdict, _ status: Int) -> Bool {
        if case .refuse(let s, _, _) = verdict { return s == status }
        return false
    }

    let json = "application/json"

    @Test func loopbackServerAcceptsLoopbackNamesOnly() {
        let p = AccessPolicy(boundHost: "127.0.0.1")
        for host in ["127.0.0.1:7770", "localhost:7770", "[::1]:7770", "127.0.0.2", "LOCALHOST"] {
            #expect(p.check(head(["host": host, "content-type": json])) == .allow, "\(host)")
        }
        for host in ["evil.example:7770", "127.0.0.1.evil.example", "", "localhost.evil.example", "0x7f.0.0.1"] {
            #expect(isRefused(p.check(head(["host": host, "content-type": json])), 403), "\(host)")
        }
        let allowed = AccessPolicy(boundHost: "127.0.0.1", allowedHosts: ["devbox.lan"])
        #expect(allowed.check(head(["host": "devbox.lan:7770", "content-type": json])) == .allow)
    }

    @Test func wildcardBindLeavesHostsToTheToken() {
        let p = AccessPolicy(boundHost: "0.0.0.0", token: "t")
        #expect(p.check(head(["host": "anything:1", "content-type": json, "authorization": "Bearer t"])) == .allow)
        #expect(isRefused(p.check(head(["host": "anything:1", "content-type": json])), 401))
        let specific = AccessPolicy(boundHost: "10.0.0.5", token: "t")
        #expect(specific.check(head(["host": "10.0.0.5:7770", "content-type": json, "authorization": "Bearer t"])) == .allow)
        #expect(isRefused(specific.check(head(["host": "evil.example", "content-type": json, "authorization": "Bearer t"])), 403))
    }

    @Test func originMustBeTheServersOwnOrAllowed() {
        let p = AccessPolicy(boundHost: "127.0.0.1", allowedOrigins: ["http://localhost:3000/"])
        let host = "127.0.0.1:7770"
        #expect(p.check(head(["host": host, "origin": "http://127.0.0.1:7770", "content-type": json])) == .allow)
        #expect(p.check(head(["host": host, "origin": "http://localhost:3000", "content-type": json])) == .allow)
        #expect(isRefused(p.check(head(["host": host, "origin": "http://127.0.0.1:7771", "content-type": json])), 403), "another port is another origin")
        #expect(isRefused(p.check(head(["host": host, "origin": "http://evil.example", "content-type": json])), 403))
        #expect(isRefused(p.check(head(["host": host, "origin": "null", "content-type": json])), 403))
        #expect(p.check(head(["host": host, "origin": "ws://127.0.0.1", "content-type": json])) == .allow, "a WebSocket library, not a page")
        #expect(isRefused(p.check(head(["host": host, "origin": "ws://evil.example", "content-type": json])), 403))
        #expect(isRefused(p.check(head(["host": host, "origin": "http://evil.example", "upgrade": "websocket"], method: "GET", uri: "/rpc")), 403),
                "the WebSocket upgrade too")
    }

    @Test func postMustBeJSON() {
        let p = AccessPolicy(boundHost: "127.0.0.1")
        let host = "127.0.0.1:7770"
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            #expect(isRefused(p.check(head(["host": host, "content-type": type])), 415), "\(type)")
        }
        #expect(isRefused(p.check(head(["host": host])), 415))
        #expect(p.check(head(["host": host, "content-type": "Application/JSON; charset=utf-8"])) == .allow)
        #expect(p.check(head(["host": host], method: "GET", uri: "/health")) == .allow)
    }

    @Test func tokenIsComparedAsBytes() {
        let p = AccessPolicy(boundHost: "127.0.0.1", token: "caf\u{e9}")
        let host = "127.0.0.1:7770"
        #expect(p.check(head(["host": host, "content-type": json, "authorization": "Bearer caf\u{e9}"])) == .allow)
        #expect(isRefused(p.check(head(["host": host, "content-type": json, "authorization": "Bearer cafe\u{301}"])), 401))
        #expect(isRefused(p.check(head(["host": host, "content-type": json, "authorization": "Bearer caf\u{e9}x"])), 401))
        #expect(p.check(head(["host": host], method: "GET", uri: "/rpc?token=caf%C3%A9")) == .allow)
        #expect(isRefused(p.check(head(["host": host], method: "GET", uri: "/rpc?token=cafe%CC%81")), 401))
        #expect(AccessPolicy.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!AccessPolicy.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!AccessPolicy.constantTimeEqual([], [0]))
    }
}

/// The one token exemption: the page's static files (issue 14).
@Suite struct StaticAccessTests {
    let host = "127.0.0.1:7770"
    let p = AccessPolicy(boundHost: "127.0.0.1", token: "t")

    func isRefused(_ verdict: AccessPolicy.Verdict, _ status: Int) -> Bool {
        if case .refuse(let s, _, _) = verdict { return s == status }
        return false
    }

    @Test func staticFilesLoadWithoutTheToken() {
        for uri in ["/", "/web/app.js", "/web/css/page.css?v=1", "/runtimes/browser/polyflow.js", "/runtimes/core/scheduler.js"] {
            #expect(p.check(.init(method: "GET", uri: uri, headers: ["host": host])) == .allow, "\(uri)")
            #expect(p.check(.init(method: "HEAD", uri: uri, headers: ["host": host])) == .allow, "\(uri)")
        }
    }

    @Test func everythingElseStillNeedsTheToken() {
        let json = "application/json"
        #expect(isRefused(p.check(.init(method: "POST", uri: "/rpc", headers: ["host": host, "content-type": json])), 401))
        #expect(isRefused(p.check(.init(method: "POST", uri: "/web/app.js", headers: ["host": host, "content-type": json])), 401),
                "only reads are exempt")
        #expect(isRefused(p.check(.init(method: "GET", uri: "/rpc", headers: ["host": host, "upgrade": "websocket"])), 401))
        #expect(isRefused(p.check(.init(method: "GET", uri: "/web/x", headers: ["host": host, "upgrade": "websocket"])), 401),
                "a WebSocket upgrade of a static URL is no static read")
        for uri in ["/health", "/runners", "/rpc?x=/web/", "/webx/a.js", "/runtimes/node/polyflow_runtime.js", "/runtimes/python3/x.py", "//web/a.js"] {
            #expect(isRefused(p.check(.init(method: "GET", uri: uri, headers: ["host": host])), 401), "\(uri)")
        }
    }

    @Test func aRunnerMayJoinWithoutATokenAtTheUpgradeButNotWithAWrongOne() {
        let upgrade = ["host": host, "upgrade": "websocket"]
        #expect(p.check(.init(method: "GET", uri: "/runners", headers: upgrade)) == .allow, "the hello carries the token")
        #expect(isRefused(p.check(.init(method: "GET", uri: "/runners?token=wrong", headers: upgrade)), 401))
        #expect(isRefused(p.check(.init(method: "GET", uri: "/runners", headers: upgrade.merging(["authorization": "Bearer wrong"]) { $1 })), 401))
        #expect(isRefused(p.check(.init(method: "GET", uri: "/rpc", headers: upgrade)), 401), "only /runners")
        #expect(isRefused(p.check(.init(method: "GET", uri: "/runners/x", headers: upgrade)), 401))
        #expect(isRefused(p.check(.init(method: "GET", uri: "/runners", headers: upgrade.merging(["origin": "http://evil.example"]) { $1 })), 403))
    }

    @Test func hostAndOriginStillApplyToStaticFiles() {
        #expect(isRefused(p.check(.init(method: "GET", uri: "/", headers: ["host": "evil.example:7770"])), 403), "DNS rebinding")
        #expect(isRefused(p.check(.init(method: "GET", uri: "/web/app.js", headers: ["host": host, "origin": "http://evil.example"])), 403))
        #expect(p.check(.init(method: "GET", uri: "/web/app.js", headers: ["host": host, "origin": "http://127.0.0.1:7770"])) == .allow)
    }

    /// Issue 20, hole 1: any `token` key in the query offers a token, and an offered token must match.
    @Test func anyTokenKeyIsAnOfferedTokenThatMustMatch() {
        let p = AccessPolicy(boundHost: "127.0.0.1", token: "s3cret")
        let upgrade = ["host": "127.0.0.1:7770", "upgrade": "websocket"]
        for uri in ["/runners?token", "/runners?token=", "/runners?token=%zz", "/runners?token=%", "/runners?a=1&token",
                    "/runners?%74oken=x", "/runners?token=s3cret&token=wrong", "/runners?token=wrong&token=s3cret"] {
            #expect(isRefused(p.check(.init(method: "GET", uri: uri, headers: upgrade)), 401), "\(uri)")
            #expect(AccessPolicy.offersToken(uri: uri, authorization: nil), "\(uri)")
        }
        for uri in ["/runners?token=s3cret", "/runners?a=1&token=s3cret", "/runners?token=s3cre%74"] {
            #expect(p.check(.init(method: "GET", uri: uri, headers: upgrade)) == .allow, "\(uri)")
        }
        // No token key at all: a browser runner's join, whose hello must carry the token.
        for uri in ["/runners", "/runners?", "/runners?tokens=x", "/runners?a=token"] {
            #expect(p.check(.init(method: "GET", uri: uri, headers: upgrade)) == .allow, "\(uri)")
            #expect(!AccessPolicy.offersToken(uri: uri, authorization: nil), "\(uri)")
        }
    }
}
