//! The catalogue of built-in identifier kinds, kept as data.
//!
//! Every kind has a stable snake_case name (used in scan output and configuration), a token
//! tag (used in `AWS_<TAG>_<CODE>` tokens), a one-line description, whether it is on by
//! default, and positive and negative examples. The examples are run as tests: each positive
//! example is a text in which the detector must report exactly the `value` with this kind, and
//! each negative example is a text in which the detector must report nothing of this kind.

use std::fmt;

/// Identifies a kind of identifier: a built-in kind of the catalogue or a custom kind added
/// through [`Config::custom_kind`](crate::Config::custom_kind).
///
/// Resolve it to its name and tag with [`Detector::kind`](crate::Detector::kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindId(pub(crate) u16);

impl KindId {
    /// The index of this kind in its detector's kind table.
    #[must_use]
    pub fn as_usize(self) -> usize {
        usize::from(self.0)
    }
}

/// A positive example: `text` contains `value`, which must be found with this kind.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// The text to scan.
    pub text: &'static str,
    /// The identifier inside `text` that must be reported, with its exact span.
    pub value: &'static str,
}

/// Describes one kind of identifier.
#[derive(Clone)]
pub struct KindInfo {
    pub(crate) name: Box<str>,
    pub(crate) tag: Box<str>,
    pub(crate) about: Box<str>,
    pub(crate) default_on: bool,
    pub(crate) builtin: bool,
    pub(crate) examples: &'static [Example],
    pub(crate) negatives: &'static [&'static str],
}

impl KindInfo {
    /// The stable snake_case name, e.g. `ec2_instance`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token tag, e.g. `EC2` (tokens look like `AWS_EC2_7KQ2XM`).
    #[must_use]
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A one-line description of the format.
    #[must_use]
    pub fn about(&self) -> &str {
        &self.about
    }

    /// Whether the kind is detected unless configured otherwise.
    #[must_use]
    pub fn default_on(&self) -> bool {
        self.default_on
    }

    /// Whether the kind is part of the built-in catalogue (as opposed to a custom kind).
    #[must_use]
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// Texts with an identifier of this kind that must be found.
    #[must_use]
    pub fn examples(&self) -> &'static [Example] {
        self.examples
    }

    /// Texts in which nothing of this kind may be found.
    #[must_use]
    pub fn negative_examples(&self) -> &'static [&'static str] {
        self.negatives
    }
}

impl fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindInfo")
            .field("name", &self.name)
            .field("tag", &self.tag)
            .field("default_on", &self.default_on)
            .finish_non_exhaustive()
    }
}

const fn ex(text: &'static str, value: &'static str) -> Example {
    Example { text, value }
}

macro_rules! catalogue {
    ($( $var:ident => ($name:literal, $tag:literal, $on:literal, $about:literal,
        [$($ex:expr),* $(,)?], [$($neg:expr),* $(,)?]) ),* $(,)?) => {
        /// Built-in kinds, in catalogue order; `K::X as u16` is the `KindId` of kind X.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub(crate) enum K { $($var),* }

        impl K {
            pub(crate) const fn id(self) -> KindId {
                KindId(self as u16)
            }
        }

        struct Entry {
            name: &'static str,
            tag: &'static str,
            on: bool,
            about: &'static str,
            examples: &'static [Example],
            negatives: &'static [&'static str],
        }

        static ENTRIES: &[Entry] = &[
            $( Entry { name: $name, tag: $tag, on: $on, about: $about,
                       examples: &[$($ex),*], negatives: &[$($neg),*] } ),*
        ];
    };
}

/// The built-in catalogue as `KindInfo`s, in `KindId` order.
pub(crate) fn builtin_kinds() -> Vec<KindInfo> {
    ENTRIES
        .iter()
        .map(|e| KindInfo {
            name: e.name.into(),
            tag: e.tag.into(),
            about: e.about.into(),
            default_on: e.on,
            builtin: true,
            examples: e.examples,
            negatives: e.negatives,
        })
        .collect()
}

catalogue! {
    // ---- resource ids: prefix + 8 or 17 lowercase hex ----
    Ec2Instance => ("ec2_instance", "EC2", true, "EC2 instance id: i- + 8 or 17 hex",
        [ex("instance i-0123456789abcdef0 stopped", "i-0123456789abcdef0"),
         ex(r#"{"text":"start\ni-0a1b2c3d"}"#, "i-0a1b2c3d"),
         ex("サブネットi-0fd78c408abbdbd96のルート", "i-0fd78c408abbdbd96")],
        ["the i-node table", "i-xxxxxxxxxxxxxxxxx", "i-94 highway", "hi-0123456789abcdef0"]),
    Ami => ("ami", "AMI", true, "AMI id: ami- + 8 or 17 hex",
        [ex("ImageId: ami-0abcdef1234567890", "ami-0abcdef1234567890")],
        ["ami-builder", "ami-XXXXXXXXXXXXXXXXX", "ami-baking pipeline"]),
    EbsVolume => ("ebs_volume", "VOL", true, "EBS volume id: vol- + 8 or 17 hex",
        [ex("\"VolumeId\": \"vol-049df61146c4d7901\"", "vol-049df61146c4d7901"),
         ex("\"VolumeId\": \"vol-0a60eb65b4EXAMPLE\"", "vol-0a60eb65b4EXAMPLE")],
        ["vol-2 of the series", "vol-XXXXXXXX"]),
    Snapshot => ("snapshot", "SNAP", true, "EBS snapshot id: snap- + 8 or 17 hex",
        [ex("from snap-06e513995986b4447.", "snap-06e513995986b4447"),
         ex("backups/snap-0a1b2c3d4e5f60718_copy.json", "snap-0a1b2c3d4e5f60718")],
        ["a snap-shot of it"]),
    Vpc => ("vpc", "VPC", true, "VPC id: vpc- + 8 or 17 hex",
        [ex("vpc_id = \"vpc-0457dbea068e0144e\"", "vpc-0457dbea068e0144e"), ex("VPC vpc-bb5e7fcc.", "vpc-bb5e7fcc"),
         ex("flows of prod_vpc-0a1b2c3d", "vpc-0a1b2c3d")],
        ["vpc-main", "vpc-<your-vpc-id>", "vpc-peering"]),
    Subnet => ("subnet", "SUBNET", true, "subnet id: subnet- + 8 or 17 hex",
        [ex("subnets: subnet-08c1143a7df46c603,", "subnet-08c1143a7df46c603")],
        ["subnet-public-1b", "subnet-xxxxxxxx", "subnet-level"]),
    SecurityGroup => ("security_group", "SG", true, "security group id: sg- + 8 or 17 hex",
        [ex("attach **sg-0b0d084dd69d48dad** to", "sg-0b0d084dd69d48dad")],
        ["sg-web-prod", "sg-1 rule", "sg-xxxxxxxxxxxxxxxxx"]),
    Eni => ("eni", "ENI", true, "network interface id: eni- + 8 or 17 hex",
        [ex("2 994107284174 eni-034bf00e4e99c0f52 10.0.0.1", "eni-034bf00e4e99c0f52")],
        ["eni-main"]),
    Igw => ("igw", "IGW", true, "internet gateway id: igw- + 8 or 17 hex",
        [ex("\"GatewayId\": \"igw-0c5b2ef3f4a3d2f91\"", "igw-0c5b2ef3f4a3d2f91")],
        ["igw-less design", "igw-main"]),
    RouteTable => ("route_table", "RTB", true, "route table id: rtb- + 8 or 17 hex",
        [ex("route table rtb-099c99796c2a12dc1 has", "rtb-099c99796c2a12dc1")],
        ["rtb-xxxxxxxxxxxxxxxxx"]),
    NetworkAcl => ("network_acl", "ACL", true, "network ACL id: acl- + 8 or 17 hex",
        [ex("the network ACL `acl-79d5b7c14a23d898f` allows", "acl-79d5b7c14a23d898f")],
        ["acl-based rules"]),
    VpcPeering => ("vpc_peering", "PCX", true, "VPC peering connection id: pcx- + 8 or 17 hex",
        [ex("Peering `pcx-0d2f8ab6c8e3f5a11` is", "pcx-0d2f8ab6c8e3f5a11")], []),
    ElasticIpAlloc => ("elastic_ip_alloc", "EIPALLOC", true, "Elastic IP allocation id: eipalloc- + 8 or 17 hex",
        [ex("--allocation-id eipalloc-9a57cc5c", "eipalloc-9a57cc5c")], []),
    ElasticIpAssoc => ("elastic_ip_assoc", "EIPASSOC", true, "Elastic IP association id: eipassoc- + 8 or 17 hex",
        [ex("\"AssociationId\": \"eipassoc-0e2e4293c99f0b073\"", "eipassoc-0e2e4293c99f0b073")], []),
    DhcpOptions => ("dhcp_options", "DOPT", true, "DHCP options set id: dopt- + 8 or 17 hex",
        [ex("\"DhcpOptionsId\": \"dopt-04fc2e708df02b25d\"", "dopt-04fc2e708df02b25d")], []),
    Reservation => ("reservation", "RESV", true, "EC2 reservation id: r- + 8 or 17 hex",
        [ex("\"ReservationId\": \"r-0c9d60bc64070b2ea\"", "r-0c9d60bc64070b2ea")],
        ["r-squared value", "r-value"]),
    VpnGateway => ("vpn_gateway", "VGW", true, "virtual private gateway id: vgw- + 8 or 17 hex",
        [ex("gateway `vgw-5a573afd`;", "vgw-5a573afd")], []),
    CustomerGateway => ("customer_gateway", "CGW", true, "customer gateway id: cgw- + 8 or 17 hex",
        [ex("customer gateway cgw-0731676d68fc3d8b5 (40.13.181.235)", "cgw-0731676d68fc3d8b5")], []),
    VpnConnection => ("vpn_connection", "VPN", true, "VPN connection id: vpn- + 8 or 17 hex",
        [ex("Our VPN connection vpn-0226865b4c2008bf3 uses", "vpn-0226865b4c2008bf3")], []),
    EfsId => ("efs_id", "EFS", true, "EFS file system id: fs- + 8 or 17 hex",
        [ex("EFS **fs-8397f5f1** won't mount", "fs-8397f5f1")], []),
    RouteTableAssoc => ("route_table_assoc", "RTBASSOC", true, "route table association id: rtbassoc- + 8 or 17 hex",
        [ex("\"RouteTableAssociationId\": \"rtbassoc-073879670a54417bc\"", "rtbassoc-073879670a54417bc")], []),
    PrefixList => ("prefix_list", "PL", true, "managed prefix list id: pl- + 8 or 17 hex",
        [ex("\"PrefixListId\": \"pl-00cdf5b8962cae33a\"", "pl-00cdf5b8962cae33a")], []),
    NatGateway => ("nat_gateway", "NAT", true, "NAT gateway id: nat- + 17 hex",
        [ex("0.0.0.0/0 -> nat-0facc6b53d92e7879", "nat-0facc6b53d92e7879")], []),
    VpcEndpoint => ("vpc_endpoint", "VPCE", true, "VPC endpoint id: vpce- + 8 or 17 hex",
        [ex("no vpce-0aa9121e9657b0cf2-style interface", "vpce-0aa9121e9657b0cf2"),
         ex("deletes endpoints vpce-aa22bb33 and", "vpce-aa22bb33")], ["vpce-12345 and vpce-xxxxxxxx"]),
    TransitGateway => ("transit_gateway", "TGW", true, "transit gateway id: tgw- + 17 hex",
        [ex("routes to tgw-0f48ef29cf5929e0f and", "tgw-0f48ef29cf5929e0f")], []),
    TgwAttachment => ("tgw_attachment", "TGWATTACH", true, "transit gateway attachment id: tgw-attach- + 17 hex",
        [ex("attachments tgw-attach-0dbf2b1a6c583e5b7 and", "tgw-attach-0dbf2b1a6c583e5b7")], []),
    TgwRouteTable => ("tgw_route_table", "TGWRTB", true, "transit gateway route table id: tgw-rtb- + 17 hex",
        [ex("TGW route table tgw-rtb-00221f91e7f67ac4c has", "tgw-rtb-00221f91e7f67ac4c")], []),
    LaunchTemplate => ("launch_template", "LT", true, "launch template id: lt- + 17 hex",
        [ex("Launch template [lt-0cd29a2edb71d3624] references", "lt-0cd29a2edb71d3624")],
        ["lt-blue deployment"]),
    EgressOnlyIgw => ("egress_only_igw", "EIGW", true, "egress-only internet gateway id: eigw- + 17 hex",
        [ex("through egress-only gateway eigw-9da8d298b607e8710.", "eigw-9da8d298b607e8710")], []),
    SecurityGroupRule => ("security_group_rule", "SGR", true, "security group rule id: sgr- + 17 hex",
        [ex("\"securityGroupRuleId\":\"sgr-038d2574fadab24cb\"", "sgr-038d2574fadab24cb")], []),
    EfsMountTarget => ("efs_mount_target", "FSMT", true, "EFS mount target id: fsmt- + 8 or 17 hex",
        [ex("the mount target fsmt-02f1d17a8ed6abf5c at", "fsmt-02f1d17a8ed6abf5c"),
         ex("\"MountTargetId\": \"fsmt-f9a14450\",", "fsmt-f9a14450")], ["fsmt-public"]),
    EfsAccessPoint => ("efs_access_point", "FSAP", true, "EFS access point id: fsap- + 17 hex",
        [ex("access point fsap-0a1b2c3d4e5f60718 denied", "fsap-0a1b2c3d4e5f60718")], []),
    EniAttachment => ("eni_attachment", "ENIATTACH", true, "network interface attachment id: eni-attach- + 8 or 17 hex",
        [ex("\"AttachmentId\": \"eni-attach-00360ed0a56a6c23a\"", "eni-attach-00360ed0a56a6c23a"),
         ex("<attachmentId>eni-attach-39697adc</attachmentId>", "eni-attach-39697adc")], []),
    KeyPairId => ("key_pair_id", "KEYPAIR", true, "EC2 key pair id: key- + 17 hex",
        [ex("\"KeyPairId\": \"key-0123456789abcdef0\"", "key-0123456789abcdef0")], ["key-value store"]),
    VpcCidrAssoc => ("vpc_cidr_assoc", "VPCCIDR", true, "VPC CIDR block association id: vpc-cidr-assoc- + 8 or 17 hex",
        [ex("\"AssociationId\": \"vpc-cidr-assoc-0659f63970ce382b4\"", "vpc-cidr-assoc-0659f63970ce382b4"),
         ex("\"AssociationId\": \"vpc-cidr-assoc-35ef2d5a\",", "vpc-cidr-assoc-35ef2d5a")], []),
    SubnetCidrAssoc => ("subnet_cidr_assoc", "SUBNETCIDR", true, "subnet IPv6 CIDR block association id: subnet-cidr-assoc- + 8 or 17 hex",
        [ex("\"AssociationId\": \"subnet-cidr-assoc-0f3a29e4c6b1d8a57\"", "subnet-cidr-assoc-0f3a29e4c6b1d8a57"),
         ex("disassociate subnet-cidr-assoc-3aa54053 first", "subnet-cidr-assoc-3aa54053")],
        ["subnet-cidr-assoc-xxxxxxxx", "subnet-cidr-associations", "subnet-cidr-assox-3aa54053"]),
    VpceService => ("vpce_service", "VPCESVC", true, "VPC endpoint service (PrivateLink) id: vpce-svc- + 8 or 17 hex",
        [ex("\"ServiceId\": \"vpce-svc-0ee6723c76642b3d8\",", "vpce-svc-0ee6723c76642b3d8"),
         ex("com.amazonaws.vpce.eu-west-1.vpce-svc-4b919ac5", "vpce-svc-4b919ac5")],
        ["vpce-svc-id", "vpce-svc-<id>"]),
    IipAssoc => ("iip_assoc", "IIPASSOC", true, "IAM instance profile association id: iip-assoc- + 17 hex",
        [ex("\"AssociationId\": \"iip-assoc-05020b59952902f5f\",", "iip-assoc-05020b59952902f5f")],
        ["iip-assoc-xxxxxxxxxxxxxxxxx"]),
    FlowLog => ("flow_log", "FLOWLOG", true, "VPC flow log id: fl- + 8 or 17 hex",
        [ex("\"FlowLogId\": \"fl-0a3f6513bef12ff9a\",", "fl-0a3f6513bef12ff9a"),
         ex("aws ec2 delete-flow-logs --flow-log-id fl-11223344", "fl-11223344"),
         ex("123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz", "fl-1234abcd")],
        ["fl-oz of water", "fl-2edhcclz"]),
    CapacityReservation => ("capacity_reservation", "CR", true, "EC2 capacity reservation id: cr- + 17 hex",
        [ex("--capacity-reservation-id cr-1234abcd56EXAMPLE", "cr-1234abcd56EXAMPLE"),
         ex("\"CapacityReservationId\": \"cr-0b30935e8e8ba0ed4\"", "cr-0b30935e8e8ba0ed4")],
        ["cr-lf line endings", "cr-12345678"]),
    DedicatedHost => ("dedicated_host", "HOST", true, "EC2 Dedicated Host id: h- + 17 hex",
        [ex("\"HostId\": \"h-0b1b5eb1ec58b1d2e\"", "h-0b1b5eb1ec58b1d2e")],
        ["the h-index", "h-1234abcd"]),
    InstanceConnectEndpoint => ("instance_connect_endpoint", "EICE", true, "EC2 Instance Connect Endpoint id: eice- + 17 hex",
        [ex("\"InstanceConnectEndpointId\": \"eice-07e3f7c1a8cb2d4e6\"", "eice-07e3f7c1a8cb2d4e6")], []),
    SpotRequest => ("spot_request", "SIR", true, "spot instance request id: sir- + 8 alphanumerics",
        [ex("spot request sir-konl28gs keeps failing", "sir-konl28gs")], ["sir-robin", "sir-lancelot1"]),
    RdsResourceId => ("rds_resource_id", "RDSID", true, "RDS resource id: db- + 26 uppercase alphanumerics",
        [ex("\"dbiResourceId\":\"db-TGH8K2A34Y852IBFEZE97UTVI0\"", "db-TGH8K2A34Y852IBFEZE97UTVI0")],
        ["db-primary"]),

    // ---- ARNs ----
    Arn => ("arn", "ARN", true, "ARN in any partition, whole (arn:partition:service:region:account:resource)",
        [ex("\"Arn\": \"arn:aws:iam::123456789012:role/deploy\",", "arn:aws:iam::123456789012:role/deploy"),
         ex("see arn:aws-cn:lambda:cn-north-1:123456789012:function:f:$LATEST.", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:$LATEST"),
         ex("Resource: arn:aws:s3:::my-bucket/*", "arn:aws:s3:::my-bucket/*"),
         ex(r#""arn:aws:logs:us-east-1:123456789012:log-group:\/aws\/lambda\/x:*""#, r"arn:aws:logs:us-east-1:123456789012:log-group:\/aws\/lambda\/x:*")],
        ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::<account-id>:role/<role-name>",
         "arn:aws:lambda:REGION:ACCOUNT:function:NAME"]),

    // ---- accounts and credentials ----
    AccountId => ("account_id", "ACCT", true, "AWS account id: 12 digits (or 1234-5678-9012) standing alone",
        [ex("\"OwnerId\": \"123456789012\"", "123456789012"), ex("account 1234-5678-9012 billing", "1234-5678-9012"),
         ex("2015-08-01 02:10:44  5214 111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz", "111122223333")],
        ["Customer order 689399631720 was refunded", "FedEx tracking number 457188093272", "flagged it on 202511241211.",
         "batch 123456789012_ticket_12 and 123456789012_foo_us-east-1x_"]),
    AccessKeyId => ("access_key_id", "AKID", true, "access key id: AKIA or ASIA + 16 of [A-Z2-7]",
        [ex("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")],
        ["AKIAXXXXXXXXXXXXXXXX", "YOUR_ACCESS_KEY_ID"]),
    SecretAccessKey => ("secret_access_key", "SECRET", true, "secret access key: 40 base64 characters after a secret keyword",
        [ex("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
         ex("$ aws configure set aws_secret_access_key je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
         ex("AWS Secret Key: je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
         ex("AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
         ex("  :secret_access_key => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
         ex("mc alias set s3 https://s3.amazonaws.com --secret-key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")],
        ["git sha da39a3ee5e6b4b0d3255bfef95601890afd80709", "the secret is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "\"x-amz-id-2\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYwJalrXUtnFEMI+K7MDENG=\""]),
    SessionToken => ("session_token", "STS", true, "STS session token after its keyword",
        [ex("aws_session_token=FwoGZXIvYXdzEBYaDHk3bWxzb2V4YW1wbGVzdHJpbmdmb3J0ZXN0aW5nb25seQ==\n", "FwoGZXIvYXdzEBYaDHk3bWxzb2V4YW1wbGVzdHJpbmdmb3J0ZXN0aW5nb25seQ=="),
         ex("aws configure set aws_session_token FwoGZXIvYXdzEBYaDHk3bWxzb2V4YW1wbGVzdHJpbmdmb3J0ZXN0aW5nb25seQ==\n", "FwoGZXIvYXdzEBYaDHk3bWxzb2V4YW1wbGVzdHJpbmdmb3J0ZXN0aW5nb25seQ==")],
        ["session token: <REDACTED>"]),
    IamUniqueId => ("iam_unique_id", "IAMID", true, "IAM unique id: AIDA, AROA, AIPA, ANPA, AGPA, ... + 17 characters",
        [ex("\"principalId\": \"AROADKCCU6VV5VZIIFNCX:GitHubActions\"", "AROADKCCU6VV5VZIIFNCX")], []),
    CanonicalUserId => ("canonical_user_id", "CANON", true, "S3 canonical user id: 64 hex in an owner context",
        [ex("\"Owner\": {\"ID\": \"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be\"}", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be")],
        ["sha256:79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"]),

    // ---- user-chosen names in naming positions ----
    S3Bucket => ("s3_bucket", "S3", true, "S3 bucket name: s3://, virtual-hosted and path-style hosts, and bucket keys",
        [ex("aws s3 cp x s3://acme-prod-logs/2024/", "acme-prod-logs"),
         ex("acme-assets.s3.us-east-1.amazonaws.com", "acme-assets"),
         ex("\"bucketName\":\"acme-data-lake\"", "acme-data-lake"),
         ex("check S3 bucket acme-logs, acme-backup-2023 and the rest", "acme-backup-2023"),
         ex("artifacts in codepipeline-us-east-1-123456789012.", "codepipeline-us-east-1-123456789012"),
         ex("User: acme-athena-results-eu-west-1", "acme-athena-results-eu-west-1"),
         ex("{\"Name\": \"acme-invoices\", \"Prefix\": \"\", \"KeyCount\": 5}", "acme-invoices")],
        ["s3://<bucket>/<prefix>/", "s3.us-west-2.amazonaws.com", "aws_s3_bucket.assets.arn",
         "the bucket policy, then access-logs", "deploy to us-east-1, zone us-east-1a",
         "stack acme-app-us-west-2-prod", "TranscriptionJobName: speak-id-job-1",
         "{\"Name\": \"acme-handler\", \"Runtime\": \"python3.12\"}"]),
    LambdaFunction => ("lambda_function", "LAMBDA", true, "Lambda function name in a naming position",
        [ex("function_name = \"aperture-audit-handler\"", "aperture-audit-handler")], ["my Lambda function is failing"]),
    DynamodbTable => ("dynamodb_table", "DDB", true, "DynamoDB table name in a naming position",
        [ex("DDB_TABLE=kyc_events_production\n", "kyc_events_production")], ["the table below"]),
    EcsCluster => ("ecs_cluster", "ECS", true, "ECS cluster name in a naming position",
        [ex("aws ecs update-service --cluster stark-billing-fargate --service x", "stark-billing-fargate")], []),
    EksCluster => ("eks_cluster", "EKS", true, "EKS cluster name in a naming position",
        [ex("aws eks update-kubeconfig --name platform-test-euc1 --region eu-central-1", "platform-test-euc1"),
         ex("\"text\": \"The EKS cluster \\u201cfabrikam-eks-06\\u201d is", "fabrikam-eks-06")],
        ["the EKS cluster \\u201cdocs\\u201d page"]),
    LogGroup => ("log_group", "LOGGRP", true, "CloudWatch Logs log group name in a naming position",
        [ex("\"logGroupName\": \"/ecs/scheduler-test\"", "/ecs/scheduler-test")], []),

    // ---- hostnames ----
    RdsEndpoint => ("rds_endpoint", "RDS", true, "RDS instance, cluster or proxy endpoint (DocumentDB and Neptune too)",
        [ex("Connection to chat-test-db.clklqli5jeuu.us-west-2.rds.amazonaws.com:5432 refused", "chat-test-db.clklqli5jeuu.us-west-2.rds.amazonaws.com"),
         ex("mongodb://sample-cluster.cluster-c9akciq32xyz.us-east-1.docdb.amazonaws.com:27017", "sample-cluster.cluster-c9akciq32xyz.us-east-1.docdb.amazonaws.com"),
         ex("wss://mydbcluster.cluster-c9akciq32xyz.us-east-1.neptune.amazonaws.com:8182/gremlin", "mydbcluster.cluster-c9akciq32xyz.us-east-1.neptune.amazonaws.com")],
        ["https://docdb.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"]),
    ElasticacheEndpoint => ("elasticache_endpoint", "CACHE", true, "ElastiCache endpoint",
        [ex("rediss://master.sessions.abc123.use1.cache.amazonaws.com:6379", "master.sessions.abc123.use1.cache.amazonaws.com")], []),
    ElbDns => ("elb_dns", "ELB", true, "Elastic Load Balancing DNS name",
        [ex("(perf-public-lb-7639353236.ap-southeast-2.elb.amazonaws.com)", "perf-public-lb-7639353236.ap-southeast-2.elb.amazonaws.com")], []),
    Ec2Hostname => ("ec2_hostname", "EC2HOST", true, "EC2 host name (ip-…, ec2-…, i-….compute.internal)",
        [ex("node ip-10-0-1-23.ec2.internal Ready", "ip-10-0-1-23.ec2.internal"), ex("Jun 17 08:23:14 ip-10-0-96-219 cloud-init", "ip-10-0-96-219")], []),
    EksEndpoint => ("eks_endpoint", "EKSAPI", true, "EKS API server endpoint",
        [ex("server: https://A1B2C3D4E5F60718293A4B5C6D7E8F90.gr7.us-west-2.eks.amazonaws.com\n", "A1B2C3D4E5F60718293A4B5C6D7E8F90.gr7.us-west-2.eks.amazonaws.com")], []),
    ApiGatewayEndpoint => ("api_gateway_endpoint", "APIGW", true, "API Gateway execute-api host",
        [ex("curl -s https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/x", "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com")], []),
    CloudfrontDomain => ("cloudfront_domain", "CFDOMAIN", true, "CloudFront distribution domain",
        [ex("(d2h7rp2c9kqonf.cloudfront.net) still serves", "d2h7rp2c9kqonf.cloudfront.net")], []),
    VpceDns => ("vpce_dns", "VPCEDNS", true, "interface VPC endpoint DNS name",
        [ex("Resolved vpce-0a1b2c3d4e5f60718-abcdefgh.s3.us-east-1.vpce.amazonaws.com to", "vpce-0a1b2c3d4e5f60718-abcdefgh.s3.us-east-1.vpce.amazonaws.com")], []),
    EcrRegistry => ("ecr_registry", "ECR", true, "ECR registry host",
        [ex("docker pull 071869271487.dkr.ecr.eu-north-1.amazonaws.com/wayne/pricing:1", "071869271487.dkr.ecr.eu-north-1.amazonaws.com")], []),
    OpensearchEndpoint => ("opensearch_endpoint", "OPENSEARCH", true, "OpenSearch domain endpoint",
        [ex("at https://search-logs-abc123def456.us-east-1.es.amazonaws.com rejects", "search-logs-abc123def456.us-east-1.es.amazonaws.com")], []),
    LambdaUrl => ("lambda_url", "LAMBDAURL", true, "Lambda function URL host",
        [ex("https://m2cekr346u04jz6ejli4oz8wdy9i0q3b.lambda-url.us-east-1.on.aws/", "m2cekr346u04jz6ejli4oz8wdy9i0q3b.lambda-url.us-east-1.on.aws")], []),
    EfsDns => ("efs_dns", "EFSDNS", true, "EFS mount DNS name",
        [ex("Mounted fs-17cefe6e.efs.ap-south-1.amazonaws.com:/ on", "fs-17cefe6e.efs.ap-south-1.amazonaws.com")], []),
    ResourceEndpoint => ("resource_endpoint", "ENDPOINT", true, "host name of a customer's resource on another AWS service: Redshift and Redshift Serverless, Amazon MQ, MSK, IoT Core, AppSync, FSx, CodeArtifact",
        [ex("Endpoint: examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439", "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com"),
         ex("host=default-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com", "default-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"),
         ex("ssl://b-1234a5b6-78cd-901e-2fab-3c45d6e178f9-1.mq.us-east-2.amazonaws.com:61617", "b-1234a5b6-78cd-901e-2fab-3c45d6e178f9-1.mq.us-east-2.amazonaws.com"),
         ex("bootstrap: b-1.orders.abc123.c2.kafka.us-east-1.amazonaws.com:9094", "b-1.orders.abc123.c2.kafka.us-east-1.amazonaws.com"),
         ex("mqtt to a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com:8883", "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com"),
         ex("https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql", "abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com"),
         ex("mount fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com:/fsx", "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com"),
         ex("https://my-domain-123456789012.d.codeartifact.us-east-1.amazonaws.com/npm/repo/", "my-domain-123456789012.d.codeartifact.us-east-1.amazonaws.com")],
        ["redshift.us-east-1.amazonaws.com", "data-ats.iot.us-east-1.amazonaws.com", "kafka.us-east-1.amazonaws.com",
         "appsync.us-east-1.amazonaws.com", "codeartifact.us-east-1.amazonaws.com", "mq.us-east-2.amazonaws.com"]),
    SqsUrl => ("sqs_url", "SQS", true, "SQS queue URL, from https:// to the queue name",
        [ex("QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo\n", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo")], []),
    EksOidcIssuer => ("eks_oidc_issuer", "OIDC", true, "EKS OIDC issuer URL",
        [ex("\"issuer\": \"https://oidc.eks.us-east-2.amazonaws.com/id/523C1ABDA3167D4F7EFA055771979AEC\"", "https://oidc.eks.us-east-2.amazonaws.com/id/523C1ABDA3167D4F7EFA055771979AEC")], []),

    // ---- addresses ----
    PrivateIp => ("private_ip", "IP", true, "private IPv4 address (RFC 1918, RFC 6598)",
        [ex("\"PrivateIpAddress\": \"10.2.100.101\"", "10.2.100.101"), ex("CIDR 10.0.0.0/16", "10.0.0.0")],
        ["127.0.0.1", "version 10.2.3.4", "1.3.6.1.4.1.10390"]),
    PublicIp => ("public_ip", "PUBIP", true, "public IPv4 address",
        [ex("\"sourceIPAddress\":\"99.159.233.196\"", "99.159.233.196")],
        ["0.0.0.0/0", "169.254.169.254", "Chrome/126.0.0.0 Safari", "255.255.255.0"]),
    Ipv6 => ("ipv6", "IPV6", true, "IPv6 address (not link-local or loopback)",
        [ex("\"Ipv6Address\": \"2600:1f13:2277:2d00:e7a4:aa20:3679:2717\"", "2600:1f13:2277:2d00:e7a4:aa20:3679:2717"),
         ex("connecting to [2600:1f1c:5eae:7f00::eee1]:443", "2600:1f1c:5eae:7f00::eee1")],
        ["fe80::1ff:fe23:4567:890a", "::1", "0a:1b:2c:3d:4e:5f", "12:30:45"]),

    // ---- awsmask's own tokens ----
    AwsmaskToken => ("awsmask_token", "TOK", true, "text shaped like an awsmask token (AWS_<TAG>_<CODE>), masked so it comes back unchanged",
        [ex("the placeholder AWS_EC2_7KQ2XM was already there", "AWS_EC2_7KQ2XM")],
        ["AWS_SECRET_ACCESS_KEY=x", "AWS_REGION", "AWS_EC2_7KQ2XMZ"]),

    // ---- other ids ----
    KmsKeyId => ("kms_key_id", "KMS", true, "KMS key id: a key UUID or mrk- + 32 hex in a key context",
        [ex("\"KeyId\": \"c715b22f-a257-42f0-ab2d-7fd81034d512\"", "c715b22f-a257-42f0-ab2d-7fd81034d512"),
         ex("KMS_KEY_ID=mrk-60fed99b968fd8f2229f3e5a6d4bd0bd\n", "mrk-60fed99b968fd8f2229f3e5a6d4bd0bd")],
        ["\"requestID\":\"755f2919-a704-4a60-b75b-779842205661\""]),
    Route53Zone => ("route53_zone", "R53", true, "Route 53 hosted zone id: Z + 12 to 21 uppercase alphanumerics",
        [ex("\"HostedZoneId\": \"Z09145674HYWE4KVOOX6\"", "Z09145674HYWE4KVOOX6")], []),
    CloudfrontDistribution => ("cloudfront_distribution", "CFDIST", true, "CloudFront distribution id: E + 13 alphanumerics",
        [ex("--distribution-id EF02775X2L9JKV", "EF02775X2L9JKV")], []),
    ApiGatewayId => ("api_gateway_id", "APIGWID", true, "API Gateway REST API id: 10 lowercase alphanumerics in an id context",
        [ex("My API Gateway `34f701phnz` returns 403", "34f701phnz")], []),
    CognitoPool => ("cognito_pool", "COGNITO", true, "Cognito user pool id: region_ + 9 alphanumerics",
        [ex("--user-pool-id us-east-1_AbCdEf123 ", "us-east-1_AbCdEf123")], []),
    CognitoIdentityPool => ("cognito_identity_pool", "COGIDP", true, "Cognito identity pool id: region:UUID",
        [ex("\"IdentityPoolId\": \"eu-west-1:63f9227f-72b4-4a39-886a-2a8656a249d4\"", "eu-west-1:63f9227f-72b4-4a39-886a-2a8656a249d4")], []),

    // ---- names known by where they stand ----
    ResourceName => ("resource_name", "RES", true, "a resource name or id known by where it stands: the id Terraform reports for a resource (aws_x.y: Refreshing state... [id=...]) when no other kind claims it, and a kebab-case name of three parts or more alone on a line or chat message, or set in prose of a non-Latin script",
        [ex("aws_iam_role.ci: Refreshing state... [id=acme-ci-deployer]", "acme-ci-deployer"),
         ex("aws_route53_record.www: Creation complete after 41s [id=Z0HYWE4KVOOX6_www.example.com_A]", "Z0HYWE4KVOOX6_www.example.com_A"),
         ex("почему orders-api-qa не видит очередь", "orders-api-qa"),
         ex("函数「billing-export-prod」超时了", "billing-export-prod"),
         ex("[09:13] <nkechi> contoso-data-lake-silver\n[09:15] <heidi> ok", "contoso-data-lake-silver"),
         ex("which one?\n  acme-invoices-archive\n", "acme-invoices-archive"),
         ex("{\"type\": \"text\", \"text\": \"acme-orders-archive\"}", "acme-orders-archive")],
        ["aws_instance.web: Still creating... [10s elapsed]", "data.aws_region.current: Reading... [id=1234567]",
         "une approche state-of-the-art pour", "Name:             geo-api-ghnjvsw9r2-hdjjc",
         "заголовок x-amz-request-id пуст", "флаг --force-new-deployment нужен", "регион eu-central-1",
         "RequestId: 1bd3a28b-63a6-4aac-8aec-036ba6b06eee\n", "see state-of-the-art\n",
         "{\"text\": \"see acme-orders-archive\"}"]),

    // ---- off by default ----
    NameLike => ("name_like", "NAME", false, "off by default: any lowercase kebab-case word of three or more parts (orders-api-qa), the way teams name buckets, functions, tables, clusters and databases, wherever it stands. Masks names that no context marks, and words such as state-of-the-art too",
        [ex("why can't invoice-enricher-test see the queue", "invoice-enricher-test"),
         ex("the files are in contoso-data-lake-silver now", "contoso-data-lake-silver")],
        ["us-east-1 and us-east-1a", "on 2024-01-15", "a one-off", "Bucket-Name-Test", "x1-y2-z3"]),
}
