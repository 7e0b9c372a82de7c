import Testing
@testable import FlowModel

@Suite struct BreakConditionTests {
    let payload: JSONValue = ["user": ["id": 42, "tags": ["a", "b/c"]], "ok": true, "n": 1.0, "a/b": "slash", "t~": "tilde"]

    func condition(_ json: JSONValue) throws -> BreakCondition { try BreakCondition(json: json) }

    @Test func equalsFollowsThePointer() throws {
        #expect(try condition(["pointer": "/user/id", "equals": 42]).matches(payload))
        #expect(try !condition(["pointer": "/user/id", "equals": 43]).matches(payload))
        #expect(try condition(["pointer": "/user/tags/1", "equals": "b/c"]).matches(payload))
        #expect(try condition(["pointer": "/n", "equals": 1]).matches(payload), "numbers compare by value")
        #expect(try condition(["pointer": "/a~1b", "equals": "slash"]).matches(payload))
        #expect(try condition(["pointer": "/t~0", "equals": "tilde"]).matches(payload))
        #expect(try condition(["pointer": "", "equals": 7]).matches(7))
        #expect(try condition(["pointer": "/user", "equals": ["tags": ["a", "b/c"], "id": 42.0]]).matches(payload))
        #expect(try !condition(["pointer": "/missing", "equals": .null]).matches(payload))
    }

    @Test func existsTestsWhetherThePointerResolves() throws {
        #expect(try condition(["pointer": "/ok", "exists": true]).matches(payload))
        #expect(try condition(["pointer": "/nope", "exists": false]).matches(payload))
        #expect(try !condition(["pointer": "/user/tags/2", "exists": true]).matches(payload))
        #expect(try !condition(["pointer": "/user/tags/01", "exists": true]).matches(payload), "no leading zeros in array indices")
        #expect(try !condition(["pointer": "/ok/deeper", "exists": true]).matches(payload))
    }

    @Test func malformedConditionsNameTheField() {
        func error(_ json: JSONValue) -> String {
            do { _ = try BreakCondition(json: json); return "" } catch { return error.description }
        }
        #expect(error(["pointer": "user", "equals": 1]).hasPrefix("condition.pointer: \"user\" is not a JSON Pointer"))
        #expect(error(["equals": 1]).hasPrefix("condition.pointer: missing"))
        #expect(error(["pointer": 3, "equals": 1]).hasPrefix("condition.pointer: must be a string"))
        #expect(error(["pointer": "/a"]).hasPrefix("condition: needs \"equals\""))
        #expect(error(["pointer": "/a", "equals": 1, "exists": true]).hasPrefix("condition: has both"))
        #expect(error(["pointer": "/a", "exists": "yes"]).hasPrefix("condition.exists: must be true or false"))
        #expect(error(["pointer": "/a", "equal": 1]).hasPrefix("condition.equal: unknown field (did you mean \"equals\"?)"))
        #expect(error("x").hasPrefix("condition: must be an object"))
    }

    @Test func breakpointWithoutConditionAlwaysStops() throws {
        var decoded = false
        #expect(Breakpoint(module: ModuleID("m")).stops { decoded = true; return nil })
        #expect(!decoded, "no condition: the payload is not decoded")
        let conditional = Breakpoint(module: ModuleID("m"), condition: try condition(["pointer": "/ok", "equals": true]))
        #expect(conditional.stops { payload })
        #expect(!conditional.stops { nil }, "a payload that is not JSON never matches")
    }

    @Test func roundTripsAsJSON() throws {
        let c = try condition(["pointer": "/x", "exists": false])
        #expect(try BreakCondition(json: c.json) == c)
    }
}
