/// Primitive names for `aggregate`.
enum AggregatePrimitives {
    /// What pathflow's views can aggregate on, plus pmacct's `none` (one grand total).
    static let implemented: Set<String> = [
        "src_host", "dst_host", "src_port", "dst_port", "proto", "tos", "tcpflags",
        "peer_src_ip", "peer_dst_ip", "in_iface", "out_iface", "src_mask", "dst_mask",
        "src_net", "dst_net", "src_as", "dst_as", "sampling_rate", "export_proto_version",
        "peer_src_as", "peer_dst_as", "as_path", "std_comm", "ext_comm", "lrg_comm", "local_pref",
        "med", "path_match",
        "none",
    ]

    /// The rest of pmacct's primitives (cfg_handlers.c, cfg_key_aggregate): known, not implemented.
    static let pmacctOnly: Set<String> = [
        "class", "class_frame", "cos", "dst_host_coords", "dst_host_country",
        "dst_host_pocode", "dst_mac", "dst_roa", "egress_vrf_name", "etype",
        "export_proto_seqno", "export_proto_sysid", "flow_label", "flows",
        "fw_event", "fwd_status", "in_cvlan", "in_iface_name", "in_vlan", "ingress_vrf_name",
        "label", "mpls_label_bottom", "mpls_label_stack",
        "mpls_label_top", "mpls_pw_id", "mpls_vpn_rd", "nat_event", "nvgre", "out_cvlan",
        "out_iface_name", "out_vlan", "path_delay_avg_usec", "path_delay_max_usec",
        "path_delay_min_usec", "post_nat_dst_host",
        "post_nat_dst_port", "post_nat_src_host", "post_nat_src_port", "sampling_direction",
        "src_as_path", "src_ext_comm", "src_host_coords", "src_host_country",
        "src_host_pocode", "src_local_pref", "src_lrg_comm", "src_mac", "src_med", "src_roa",
        "src_std_comm", "srv6_seg_ipv6_list", "sum", "sum_as", "sum_host",
        "sum_mac", "sum_net", "sum_port", "tag", "tag2", "timestamp_arrival", "timestamp_end",
        "timestamp_export", "timestamp_start", "tunnel_dst_host", "tunnel_dst_mac",
        "tunnel_dst_port", "tunnel_flow_label", "tunnel_proto", "tunnel_src_host",
        "tunnel_src_mac", "tunnel_src_port", "tunnel_tcpflags", "tunnel_tos", "vlan",
        "vrf_name", "vxlan",
    ]
}
