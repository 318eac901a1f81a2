package main

import (
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
)

// The presence rule selects every presence event AWS IoT publishes and hands
// it to the presence function; a failed invocation goes to a log group of
// its own.
func TestPresenceRule(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		t.Run(s.settings.Stage, func(t *testing.T) {
			presenceID, _ := s.resource(t, "AWS::Lambda::Function", "Presence")
			errorLogsID, _ := s.resource(t, "AWS::Logs::LogGroup", "PresenceRuleErrorsLogs")
			errorRoleID, errorRole := s.resource(t, "AWS::IAM::Role", "PresenceRuleErrorsRole")
			if n := len(s.resources("AWS::IoT::TopicRule")); n != 1 {
				t.Errorf("got %d topic rules, want 1", n)
			}
			_, rule := s.resource(t, "AWS::IoT::TopicRule", "PresenceRule")
			p := props(rule)
			if got, want := p["RuleName"], "fleetclaim_"+strings.ReplaceAll(s.settings.Stage, "-", "_")+"_presence"; got != want {
				t.Errorf("rule name: got %v, want %s", got, want)
			}
			payload := p["TopicRulePayload"].(map[string]any)
			if got, want := payload["Sql"], "SELECT * FROM '$aws/events/presence/+/+'"; got != want || got != iotpresence.RuleSQL {
				t.Errorf("SQL: got %v, want %s", got, want)
			}
			if payload["AwsIotSqlVersion"] != "2016-03-23" || payload["RuleDisabled"] != false {
				t.Errorf("SQL version %v, disabled %v; want 2016-03-23 and enabled", payload["AwsIotSqlVersion"], payload["RuleDisabled"])
			}
			wantActions := []any{map[string]any{"Lambda": map[string]any{"FunctionArn": getAtt(presenceID, "Arn")}}}
			if got, want := asJSON(payload["Actions"]), asJSON(wantActions); got != want {
				t.Errorf("actions: got %s, want %s", got, want)
			}
			wantError := map[string]any{"CloudwatchLogs": map[string]any{"LogGroupName": ref(errorLogsID), "RoleArn": getAtt(errorRoleID, "Arn")}}
			if got, want := asJSON(payload["ErrorAction"]), asJSON(wantError); got != want {
				t.Errorf("error action: got %s, want %s", got, want)
			}
			trust := asJSON(props(errorRole)["AssumeRolePolicyDocument"])
			if !strings.Contains(trust, `"Service":"iot.amazonaws.com"`) || strings.Count(trust, `"Service"`) != 1 {
				t.Errorf("error role trust: got %s, want AWS IoT alone", trust)
			}
		})
	}
}

// Only the presence rule, in this account, may invoke the presence
// function; nothing else is granted to invoke it.
func TestPresenceRulePermission(t *testing.T) {
	s := devStack(t)
	presenceID, _ := s.resource(t, "AWS::Lambda::Function", "Presence")
	ruleID, _ := s.resource(t, "AWS::IoT::TopicRule", "PresenceRule")
	var found []map[string]any
	for _, perm := range s.resources("AWS::Lambda::Permission") {
		if asJSON(props(perm)["FunctionName"]) == asJSON(getAtt(presenceID, "Arn")) {
			found = append(found, props(perm))
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d permissions on the presence function, want 1", len(found))
	}
	want := map[string]any{
		"Action":        "lambda:InvokeFunction",
		"FunctionName":  getAtt(presenceID, "Arn"),
		"Principal":     "iot.amazonaws.com",
		"SourceArn":     getAtt(ruleID, "Arn"),
		"SourceAccount": ref("AWS::AccountId"),
	}
	if got, want := asJSON(found[0]), asJSON(want); got != want {
		t.Errorf("permission:\n got  %s\n want %s", got, want)
	}
}
