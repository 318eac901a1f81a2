package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/console"
)

// The console's response headers besides its content security policy. The
// local stack's console.Handler sends the same values (TestConsoleSecurityHeaders
// compares them), so the page meets the same policy in both places.
const (
	consolePermissionsPolicy = "camera=(self), microphone=(), geolocation=()"
	// hstsSeconds is two years, the max-age hstspreload.org recommends.
	hstsSeconds = 2 * 365 * 24 * 60 * 60
)

// consoleCacheControl is the Cache-Control of every file of the console,
// config.json included. The bundle's names carry no content hash (app.js,
// styles.css), so browsers revalidate each file (a 304 when unchanged)
// rather than run a stale app.js against a new index.html or a replaced
// pool's config.json; CloudFront keeps them a second at most (the
// CachingOptimized policy's minimum) and is invalidated by each deployment.
const consoleCacheControl = "no-cache"

// consoleConfigKey is the console's runtime configuration, written by the
// deployment from the stack's outputs.
const consoleConfigKey = "config.json"

// consoleBuilt are the files without which the console's dist/ holds no
// console (README.md is always there).
var consoleBuilt = []string{"index.html", "app.js"}

// checkConsoleBuilt fails unless dir holds a built console: synthesizing
// without one would deploy an empty site.
func checkConsoleBuilt(dir string) error {
	for _, name := range consoleBuilt {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("the console is not built (%s is missing): run `make build`, which runs "+
				"`go generate ./shared/console`, or set the context value %s=false to deploy without it",
				filepath.Join(dir, name), ctxConsole)
		}
	}
	return nil
}

// consoleSite is the console's bucket and the distribution in front of it.
type consoleSite struct {
	bucket       awss3.Bucket
	distribution awscloudfront.Distribution
	// url is the console's https origin: the custom domain, or the
	// distribution's own name.
	url *string
}

// newConsoleSite creates the private bucket the console's files live in and
// the CloudFront distribution that alone may read it (origin access
// control), over HTTPS only, with the console's security headers. apiOrigin
// is the API's origin, for the content security policy.
func newConsoleSite(stack awscdk.Stack, s Settings, apiOrigin *string) consoleSite {
	bucket := awss3.NewBucket(stack, jsii.String("ConsoleBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		// Its files are rebuilt from the repository at every deployment, but
		// it goes with the stack's other data: kept where the data is, else
		// emptied and deleted with the stack (CloudFormation cannot delete a
		// bucket that holds objects).
		RemovalPolicy:     removalPolicy(s),
		AutoDeleteObjects: jsii.Bool(!s.RetainData),
	})
	if !s.RetainData {
		trustOnlyThisAccount(stack, autoDeleteRole(stack))
	}

	// CloudFront's policies and origin access controls are named per
	// account, not per Region: the names say which stack they belong to.
	name := "fleetclaim-" + s.Stage + "-console-" + *stack.Region()
	headers := awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: jsii.String(name),
		Comment:                   jsii.String("fleetclaim console (" + s.Stage + "): security headers"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: consoleCSP(stack, apiOrigin), Override: jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
			},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true),
			},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Seconds(jsii.Number(hstsSeconds)),
				IncludeSubdomains:   jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
		},
		CustomHeadersBehavior: &awscloudfront.ResponseCustomHeadersBehavior{
			CustomHeaders: &[]*awscloudfront.ResponseCustomHeader{{
				Header: jsii.String("Permissions-Policy"), Value: jsii.String(consolePermissionsPolicy), Override: jsii.Bool(true),
			}},
		},
	})

	props := &awscloudfront.DistributionProps{
		Comment:           jsii.String("fleetclaim console (" + s.Stage + ")"),
		DefaultRootObject: jsii.String("index.html"),
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			// Origin access control (SigV4 from CloudFront, scoped by the
			// bucket policy to this distribution), not the legacy identity.
			Origin: awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
				OriginAccessControl: awscloudfront.NewS3OriginAccessControl(stack, jsii.String("ConsoleOriginAccess"), &awscloudfront.S3OriginAccessControlProps{
					OriginAccessControlName: jsii.String(name),
					Signing:                 awscloudfront.Signing_SIGV4_ALWAYS(),
				}),
				OriginAccessLevels: &[]awscloudfront.AccessLevel{awscloudfront.AccessLevel_READ},
			}),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachedMethods:        awscloudfront.CachedMethods_CACHE_GET_HEAD(),
			// Honours the files' Cache-Control; no cookies, headers or
			// query strings reach the bucket.
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			Compress:              jsii.Bool(true),
			ResponseHeadersPolicy: headers,
		},
	}
	if s.ConsoleDomainName != "" {
		// Only a certificate of our own has a policy to choose; the
		// default *.cloudfront.net one has CloudFront's fixed policy.
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
		props.DomainNames = jsii.Strings(s.ConsoleDomainName)
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(stack,
			jsii.String("ConsoleCertificate"), jsii.String(s.ConsoleCertificateARN))
	}
	distribution := awscloudfront.NewDistribution(stack, jsii.String("ConsoleDistribution"), props)
	url := jsii.String("https://" + *distribution.DistributionDomainName())
	if s.ConsoleDomainName != "" {
		url = jsii.String("https://" + s.ConsoleDomainName)
	}

	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The bucket holds only the console's static files, the same for every visitor; only " +
			"the distribution reads it (origin access control) and only the stack's deployment writes it, " +
			"so server access logs would record nothing but those two"),
	}}, jsii.Bool(true))
	nag := []*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-CFR1"),
		Reason: jsii.String("Installers work wherever their tenants' devices are; the console's files are " +
			"public and every action needs a Cognito sign-in, so no country is refused"),
	}, {
		Id: jsii.String("AwsSolutions-CFR2"),
		Reason: jsii.String("The distribution serves static files only; a web ACL costs a fixed monthly fee and " +
			"would guard nothing that matters: the API has its own throttles, quotas and optional web ACL"),
	}, {
		Id: jsii.String("AwsSolutions-CFR3"),
		Reason: jsii.String("The distribution serves static files that hold no data; what a visitor does " +
			"reaches the API, whose access logs record every request; CloudFront standard logs would " +
			"need an ACL-enabled log bucket, which this stack otherwise avoids"),
	}}
	if s.ConsoleDomainName == "" {
		nag = append(nag, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-CFR4"),
			Reason: jsii.String("Without a custom domain the distribution uses CloudFront's default " +
				"*.cloudfront.net certificate, whose security policy CloudFront fixes; set consoleDomainName and " +
				"consoleCertificateArn to get TLSv1.2_2021 as the minimum (DEPLOY.md)"),
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(distribution, &nag, jsii.Bool(true))
	return consoleSite{bucket: bucket, distribution: distribution, url: url}
}

// autoDeleteRole is the role of the CDK's function that empties a bucket
// before CloudFormation deletes it (AutoDeleteObjects), one per stack.
func autoDeleteRole(stack awscdk.Stack) awscdk.CfnResource {
	provider := stack.Node().TryFindChild(jsii.String("Custom::S3AutoDeleteObjectsCustomResourceProvider"))
	if provider == nil {
		panic("no S3 auto-delete provider in the stack: has the CDK renamed it?")
	}
	role, ok := provider.Node().TryFindChild(jsii.String("Role")).(awscdk.CfnResource)
	if !ok {
		panic("the S3 auto-delete provider has no Role: has the CDK renamed it?")
	}
	return role
}

// trustOnlyThisAccount adds aws:SourceAccount to a role the CDK made for
// Lambda (see lambdaTrust), whose trust policy has one statement.
func trustOnlyThisAccount(stack awscdk.Stack, role awscdk.CfnResource) {
	role.AddPropertyOverride(jsii.String("AssumeRolePolicyDocument.Statement.0.Condition"),
		map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}})
}

// consoleCSP is the content security policy the local stack's console
// sends (console.ContentSecurityPolicy), for this stack's Region and API:
// the policy is built once, by the console package, from stand-in values
// that are then replaced with the stack's tokens, so a change to the
// console's policy (a new source for a new feature) reaches the deployed
// headers without an edit here.
func consoleCSP(stack awscdk.Stack, apiOrigin *string) *string {
	const region, apiHost = "region.fleetclaim.invalid", "api.fleetclaim.invalid"
	csp := console.ContentSecurityPolicy(console.Config{Region: region, APIURL: "https://" + apiHost + "/"})
	for _, mark := range []string{region, apiHost} {
		if !strings.Contains(csp, mark) {
			panic("console.ContentSecurityPolicy no longer names " + mark + ": update consoleCSP")
		}
	}
	csp = strings.ReplaceAll(csp, "https://"+apiHost, *apiOrigin)
	return jsii.String(strings.ReplaceAll(csp, region, *stack.Region()))
}

// deployConsole uploads the built console from dir and writes config.json
// from cfg, whose values are the stack's own (tokens resolved at deploy
// time). The upload's function gets a role of its own that may read the
// CDK's staged assets, write this bucket and invalidate this distribution,
// and nothing else.
func deployConsole(stack awscdk.Stack, s Settings, site consoleSite, dir string, cfg console.Config) {
	files := awss3assets.NewAsset(stack, jsii.String("ConsoleFiles"), &awss3assets.AssetProps{
		Path: jsii.String(dir),
		// dist/README.md and .gitignore keep the directory in the
		// repository; they are not the console.
		Exclude: jsii.Strings("README.md", ".*"),
	})
	logs := newLogGroup(stack, "ConsoleDeployLogs", s)
	role := awsiam.NewRole(stack, jsii.String("ConsoleDeployRole"), &awsiam.RoleProps{
		AssumedBy:   lambdaTrust(stack),
		Description: jsii.String("Uploads the fleetclaim console to its bucket at deploy time"),
	})
	logs.GrantWrite(role)
	for _, st := range []*awsiam.PolicyStatementProps{
		// The zips CloudFormation staged: the files and config.json.
		{Actions: jsii.Strings("s3:GetObject"), Resources: &[]*string{files.Bucket().ArnForObjects(jsii.String("*"))}},
		// aws s3 sync --delete: list, then put and delete.
		{Actions: jsii.Strings("s3:ListBucket"), Resources: &[]*string{site.bucket.BucketArn()}},
		{Actions: jsii.Strings("s3:PutObject", "s3:DeleteObject"), Resources: &[]*string{site.bucket.ArnForObjects(jsii.String("*"))}},
		{Actions: jsii.Strings("cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"),
			Resources: &[]*string{site.distribution.DistributionArn()}},
	} {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
	// The construct would add broader grants of its own (s3:GetObject*,
	// s3:List*, s3:DeleteObject* ... and invalidations on "*"); the ones
	// above are what its upload does.
	fixed := role.WithoutPolicyUpdates(nil)

	// config.json's values are tokens: serialize the console's own type,
	// so its field names cannot drift from what the page reads.
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // a struct of strings always encodes
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		panic(err)
	}
	// One upload: it prunes what a new build no longer has, and its
	// invalidation makes CloudFront fetch the new files at once.
	awss3deployment.NewBucketDeployment(stack, jsii.String("ConsoleDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: site.bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Bucket(files.Bucket(), files.S3ObjectKey()),
			awss3deployment.Source_JsonData(jsii.String(consoleConfigKey), data, nil),
		},
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_FromString(jsii.String(consoleCacheControl))},
		Distribution:      site.distribution,
		DistributionPaths: jsii.Strings("/*"),
		Role:              fixed,
		LogGroup:          logs,
	})

	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The upload reads the zips CloudFormation staged in the CDK's asset bucket, whose " +
			"keys are content hashes, and writes and deletes the console's files, whose names each build " +
			"decides; object ARNs cannot be listed in advance for either, so the grant is on the objects of " +
			"those two buckets only"),
		AppliesTo: &[]any{
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/`)},
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<ConsoleBucket[0-9A-F]{8}\.Arn>\/\*$/`)},
		},
	}}, jsii.Bool(true))
	// The upload's function is the CDK's own (one per stack), named by the
	// construct.
	for _, c := range *stack.Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{
				Id: jsii.String("AwsSolutions-L1"),
				Reason: jsii.String("The CDK's BucketDeployment fixes its function's Python runtime to match the " +
					"AWS CLI layer it ships; the function runs only during deployments, on files from this stack"),
			}}, jsii.Bool(true))
		}
	}
}
