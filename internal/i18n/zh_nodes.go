package i18n

// zhNodes are the words of a Kubernetes node's image store (internal/nodestore): its
// containerd, reached through a socket or over ssh, and the import into it.
var zhNodes = map[string]string{
	"node %s: %w": "节点 %s：%w",
	"not an ssh://user@host[:port]/path/to/containerd.sock address":                                            "不是 ssh://用户@主机[:端口]/containerd.sock 路径 形式的地址",
	"not a containerd address: use unix:///path/to/containerd.sock or ssh://user@host/path/to/containerd.sock": "不是 containerd 地址：请写 unix:///containerd.sock 路径 或 ssh://用户@主机/containerd.sock 路径",
	"no containerd at %s: %v":              "%s 上没有 containerd：%v",
	"containerd does not answer at %s: %v": "%s 上的 containerd 没有应答：%v",
	"ssh: %v":                              "ssh：%v",
	"ssh: cannot read known_hosts: %v":     "ssh：读不了 known_hosts：%v",
	"ssh: no key: neither an ssh agent (SSH_AUTH_SOCK) nor a key without passphrase in ~/.ssh/id_ed25519, id_ecdsa or id_rsa": "ssh：没有密钥：既没有 ssh agent（SSH_AUTH_SOCK），~/.ssh/id_ed25519、id_ecdsa、id_rsa 里也没有不带口令的密钥",
	"%s does not have the digest %s its name or the node's layers say (it has %s): the archive was altered or damaged":        "%s 的摘要不是它的名字或节点上的层所说的 %s（实际是 %s）：归档被改动或损坏了",
	"config %s is not in the archive":             "配置 %s 不在归档里",
	"config %s lists %d layers, manifest.json %d": "配置 %s 列出 %d 层，manifest.json 列出 %d 层",
	"config %s: %v": "配置 %s：%v",
	"layer %s has digest %s, but the config says its diffID is %s": "层 %s 的摘要是 %s，但配置说它的 diffID 是 %s",
	"layer %s is not in the archive":                               "层 %s 不在归档里",
	"layer %s: digest unknown":                                     "层 %s：摘要未知",
	"manifest.json: %v":                                            "manifest.json：%v",
	"the archive names an invalid image reference %q: %v":          "归档里的镜像引用 %q 无效：%v",
}
