package cli

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/table"
)

// The --help texts in Chinese: Short and Long by command path, flag usages by their
// English text. TestHelpHasChinese checks that every command and flag has one.

const exitCodesHelpZH = `退出码：
  0  完成，或本来就是最新，无事可做
  1  还没做任何修改就失败了（包损坏、部署目录不对、Docker 没响应、另一个 imgup
     正在运行）；对 status 来说：部署有不一致
  2  用法错误：命令行写错了，或者 apply 拒绝一个会停下的重启（没人回答的提问、
     没有仓库的拉取）：请换一种重启方式
  3  修改之后失败；所有修改都已还原
  4  失败且未能还原，或用了 --no-rollback：需要人工处理（提示里写明怎么做）
  130  被中断（Ctrl-C）：已做的修改先还原`

var zhShort = map[string]string{
	"imgup":                "用厂商的镜像包更新离线 docker-compose 部署的服务镜像",
	"imgup apply":          "用镜像包更新部署：加载、修改、重启、检查（手册第 1-5 步）",
	"imgup bundle":         "制作、校验、查看厂商签名的更新包",
	"imgup bundle create":  "用本机 Docker 里的镜像或镜像包制作签名的更新包",
	"imgup bundle inspect": "查看更新包的内容：镜像、服务、配置修改、说明、签名者",
	"imgup bundle keygen":  "生成签名密钥对：NAME.key（私钥，妥善保管）和 NAME.pub（发给客户）",
	"imgup bundle verify":  "不连 Docker，校验更新包的签名、每个数据块的摘要和清单",
	"imgup history":        "列出 imgup 对部署做过的更新，最新的在前",
	"imgup inspect":        "列出镜像包里的镜像，什么都不加载",
	"imgup load":           "把镜像包加载进 Docker（手册第 1 步），流式，不解压",
	"imgup plan":           "显示 apply 会做什么（手册第 1-5 步），什么都不改",
	"imgup prune":          "删除 imgup 更新过的仓库的旧镜像，保留回退要用的",
	"imgup rollback":       "撤销一次更新：逐字节还原文件、重启、确认旧镜像在运行",
	"imgup serve":          "打开网页控制台：上传包、看计划、执行、实时查看、回退",
	"imgup status":         "显示配置的、已加载的和正在运行的，以及所有不一致（有不一致时退出码 1）",
	"imgup version":        "显示 imgup 的版本",
	"imgup help":           "显示任一命令的帮助",
	"imgup completion":     "生成 shell 命令补全脚本",
}

var zhLong = map[string]string{
	"imgup help": "显示任一命令的帮助。\n输入 imgup help [命令路径] 查看完整说明。",
	"imgup": `imgup 用一条命令完成厂商手册《更新服务镜像》的全部步骤：

  1. 加载镜像：把镜像包流式送进 Docker（docker load），不解压
  2. 修改.systemconfig 里的镜像版本
  3. 修改compose文件里的 image:（只改标签那几个字符）
  4. 重启（./deploy.sh restart）
  5. 检查：更新的服务是否运行新镜像（docker ps -a）

动手之前先显示计划，只改必须改的地方。

`,
	"imgup apply": `一条命令完成整本手册：

  1. 把镜像包里的镜像加载进 Docker（流式；已加载的镜像跳过）
  2. 修改.systemconfig 里的镜像版本（根目录的，ViCode 镜像改 vicode/ 下的）
  3. 修改compose文件里的 image:（只改标签字符；image 写成 ${VAR} 时改 .systemconfig
     或 .env 里的这个变量）
  4. 重启：./deploy.sh restart，或 imgup.yaml 里 restart: 写的命令（--restart auto/deploy）；
     只重建更新了的服务的容器（--restart services）；swarm stack 重新部署、由 swarm
     滚动更新（--restart stack）；Kubernetes 部署执行 kubectl apply -f / -k（--restart kubectl）
     或用运维 values 执行 helm upgrade（--restart helm）；或不重启（--restart none）
  5. 检查：在 --timeout 之内，每个更新的服务都运行新的镜像 ID、在运行且没有反复重启、
     有健康检查的要 healthy，部署里其他容器也没有被停下

先打印计划（和 "imgup plan" 一样），问过你再动手；--yes 不问。没有终端时，不加 --yes
就拒绝执行。

第一次修改之前，先备份每个要改的文件，并把这次更新记录在 <root>/.imgup/history/<id>/。
重启或检查失败时，还原文件、再次重启、确认旧镜像在运行（退出码 3）；--no-rollback 则保留
失败现场以便排查。用同样的包再执行一次什么都不做，并提示“已经是最新”。

厂商更新包（bundle）还会带来每个镜像要更新到哪些服务、以及配置修改（.systemconfig、
.env、服务的环境变量）；它们和镜像一起备份、修改、检查、失败时还原。未签名或签名不受
信任的更新包会被拒绝，除非加 --allow-unsigned。

`,
	"imgup bundle": `厂商更新包是一个文件，装着一次更新的全部内容：镜像、每个镜像要更新的服务、配置修改
（.systemconfig、.env、服务的环境变量）、更新说明、适用的版本，并由厂商用 minisign
密钥签名。"imgup plan" 和 "imgup apply" 像对待镜像包一样接受更新包；未签名或签名者
不受本部署信任的更新包，apply 会拒绝。

厂商在能联网的构建机上：
  imgup bundle keygen vendor                      # vendor.key（私钥）、vendor.pub
  imgup bundle create -o fix.bundle --key vendor.key --name console-fix --version 4.1.76383 \
      --service encoo/console-web-v4-pvt=console/console-web \
      --set .systemconfig:FEATURE_X=on encoo/console-web-v4-pvt:4.1.76383

运维人员只需做一次：把 vendor.pub 拷到 <root>/.imgup/trusted/。之后每次更新：
  imgup bundle verify -C /console/consolev4pvt-4.1.150431 fix.bundle
  imgup apply -C /console/consolev4pvt-4.1.150431 fix.bundle

格式见 docs/bundle.md。`,
	"imgup bundle create": `用镜像制作一个更新包文件：镜像可以是本机 Docker 里的引用（用 Docker 的 save 导出），
也可以是 imgup 能读的任何形式的镜像包。每一层只存一次，用 gzip 压缩（Engine 20.10
读不了 zstd 的层）。

每个镜像更新哪些服务（手册里“与开发人员确认”的那一步）：
  --service REPO=STACK/SERVICE[,STACK/SERVICE...]   （每个仓库一个）
没有 --service 的仓库，更新所有镜像名相同的服务。

配置修改，由 imgup apply 和镜像一起执行，和其他修改一样会备份、rollback 时还原：
  --set FILE:KEY=VALUE        在 .systemconfig、vicode/.systemconfig 或 .env 里设置一个键
  --unset FILE:KEY            删除这个键
  --set-env STACK/SERVICE:KEY=VALUE   在服务的 compose 文件里设置一个环境变量
  --unset-env STACK/SERVICE:KEY       删除这个环境变量

前提条件，在任何修改之前检查：
  --requires REPO>=VERSION    所有用 REPO 的服务运行的版本不低于 VERSION
  --requires REPO=TAG         所有用 REPO 的服务运行的正好是 TAG
  --requires FILE:KEY=VALUE   这个键是这个值

--base OLD.bundle 制作差量更新包：OLD.bundle 已经带过的层不再放进来，apply 在修改
任何东西之前先确认 Docker 里有这些层。`,
	"imgup bundle inspect": `显示更新包的 bundle.json：镜像以及每个镜像更新的服务、配置修改、前提条件、更新说明，
以及签名者的密钥 ID 和它是否被信任的公钥验证通过。只读 bundle.json；校验数据块用
"imgup bundle verify"。`,
	"imgup bundle keygen": `生成用于给更新包签名的 minisign 密钥对：NAME.key 是私钥（权限 0600，留在构建机上），
NAME.pub 是公钥，客户把它放进 <root>/.imgup/trusted/。密钥就是 minisign 自己的格式：
"minisign -S -s NAME.key" 可以用它签名，"minisign -V -p NAME.pub" 可以验证。

私钥用 IMGUP_KEY_PASSWORD 或 --password-file 里的密码加密；没有密码时不加密写出
（和 minisign -G -W 一样），imgup 会提示。`,
	"imgup bundle verify": `不碰 Docker 也不碰部署，完整校验一个更新包：bundle.json 的签名（用
<root>/.imgup/trusted/*.pub 或 --trust 里信任的公钥）、bundle.json 的格式、文件里每个
数据块的摘要和大小。有任何问题时退出码 1，并用一行指出是哪个文件、什么问题。`,
	"imgup history": `列出 imgup 记录在 <root>/.imgup/history/ 下的每次更新（和回退），最新的在前：
编号、时间、状态、改了哪些服务、谁执行的。"imgup rollback 编号" 用的就是这个编号。
--json 输出完整记录。

--report 编号 输出一次更新给厂商的报告，markdown 格式（或 --json）：更新包及其版本和
签名者、主机、改了什么（镜像和配置项，从什么改成什么）、更新后的容器、每个服务的
停机时间、每个阶段用时。密码类的值显示为 ***。用它代替 docker ps -a 的截图发给厂商。`,
	"imgup inspect": `列出镜像包里有什么，不加载任何东西：每个镜像的引用（标签）、镜像 ID（配置摘要）、
层数和大小，以及包的形式。给目录时表示目录下的每个包。

包的形式从内容判断，不看文件名：docker save 的 tar（经典或 OCI 布局）、用 gzip、zstd、
xz 或 bzip2 压缩的同样内容，以及厂商那种里面装着一个或多个 docker save tar 的 .tar.gz。`,
	"imgup load": `把给定镜像包里的每个镜像加载进 Docker，效果和
"tar -zxvf X.tar.gz && docker load -i X.tar" 一样，但一遍流式完成：不往磁盘解压，
包再大内存占用也不变。

每个包边传边检查；损坏的包整个拒绝（Docker 一点都不加载）。Docker 里已经有同名同
镜像 ID 的镜像会跳过。加载后逐个检查每个引用，把它的镜像 ID 和包里的对比。

只发送 Docker 缺的层（增量加载）：imgup 先读 Docker 已有的层，把链已存在的层从数据流
里去掉，Docker 也就不用再打开它们。大底座上只改了一层应用的更新，只发送这一层。它会
提示 "sent 9.4 MB of 261 MB to the engine: 11 layer(s) already present"。在 containerd
镜像存储上（Engine 29 的默认）每层都会发送。--all-layers 无论如何都发送每一层。

多个包逐个加载：后面的包被拒绝时，前面已加载的保留（加载只会增加镜像）。

厂商更新包只有在签名通过信任的公钥（<root>/.imgup/trusted/*.pub 或 --trust）验证后
才加载，并且在 Docker 收到数据流结尾之前，每个数据块都已核对摘要。`,
	"imgup plan": `什么都不改，显示 "imgup apply" 会用这些包做什么：要加载的镜像、每处文件修改
（文件:行号、旧值 -> 新值、原因）、重启方式、要检查的服务。不加载、不写文件、不重启。

包里的每个镜像，按仓库名匹配使用同名镜像的服务，仓库名按 Docker 的规则归一化
（去掉 docker.io/ 和 library/ 前缀；带仓库地址的保持不同）。默认这样的服务都换成新标签，
这是手册的兜底做法；--service 可以缩小范围。

哪些容器属于这个部署，由正在运行的容器决定：从每个部分的目录或文件创建的容器上的
compose 标签，给出它的 compose 项目名和实际使用的 compose 文件。只有还什么都没运行时，
才去读控制脚本（deploy.sh，或 imgup.yaml 里的 script:），而且只读不执行。计划开头会列出
每个部分的项目名和文件以及它们从哪里得知。同一目录下跑着两个项目的容器，或者脚本在运行
时才拼出项目名时，用 --project STACK=NAME 指定（或写在 <root>/imgup.yaml 的 projects:）。
如果镜像由一个 imgup 找不到取值的变量拼成，计划会停下（退出码 1），并指出是哪个服务、
哪个变量。

厂商更新包（见 imgup bundle --help）的签名通过 <root>/.imgup/trusted/*.pub（或 --trust）
验证后，和镜像包一样使用：它的服务列表代替按名字匹配，它的配置修改作为计划里的修改，
它的前提条件以及差量包所需的底层在 Docker 里是否存在会先检查。`,
	"imgup prune": `删除 imgup 记录过的更新所涉及仓库的旧镜像：没有容器在用、并且不在本仓库最新的 N 个
之内（--keep，默认 2）。记录里的更新可能要回退到的镜像不删，除非加
--include-rollback-images。其他仓库一律不碰。

先列出要删除的，再问你（或 --yes）。`,
	"imgup rollback": `撤销最近一次还没撤销的更新（或指定编号的更新，见 "imgup history"）：把它改过的每个
文件逐字节放回去，按更新时的方式重启，确认各服务运行的是更新前的镜像 ID。

只把这次更新改过的字节改回去。更新之后又被别的东西改过的文件不会被覆盖，除非
--force；如果之后还有一次没撤销的更新改过同样的文件，也不撤销，除非 --force。旧镜像
必须还在 Docker 里（加载只增加标签不删除；"imgup prune" 会保留它们）；如果不在了，
rollback 会在改动任何东西之前说明。

回退和更新一样会被记录，也有自己的备份；它也能撤销中途中断的更新（被强行结束、断电），
不管当时进行到哪一步。

`,
	"imgup serve": `为这个部署提供 imgup 的网页控制台，给不习惯在服务器上敲命令、更愿意用浏览器的运维
人员。它做的事和命令行一样，检查也一样：

  总览     状态表、发现的不一致以及每个的修复方法
  上传     把镜像包和更新包拖进 <root>/image/；上传中断后会从断点继续，控制台
           重启后也一样
  计划     选择包；每处文件修改以精确到字节的差异显示，还有更新包的签名和前提
           条件、重启方式以及要检查什么
  执行     实时显示每个阶段、重启的输出和检查结果表；关掉浏览器不会中断更新
  历史     每次更新及其报告（markdown、JSON），以及回退按钮

它监听 127.0.0.1:8765，并打印一个带登录令牌的网址（每次启动都换新的，保存在
<root>/.imgup/console-token，权限 0600）。在自己的电脑上，通过 SSH 隧道访问：

  ssh -L 8765:127.0.0.1:8765 root@服务器      然后打开打印出来的网址

监听其他地址需要 --tls-cert 和 --tls-key，或者 --insecure-http（这时令牌和会话以明文
经过网络）。

上传一开始就按声明的大小预留空间（算上所有正在进行的上传），并且永远不占用磁盘最后的
5%（最多 1 GiB；--keep-free）：这块盘上还有部署和它的数据库。一个分块 60 秒没有数据就
结束，上传从已收到的地方继续。分块只写进部署自己的 .imgup/uploads（绝不经过符号链接）；
image/ 可以是指向另一块盘的符号链接。

同一个部署同一时间只运行一个 apply 或 rollback：在命令行里开始的更新在控制台里显示为
进行中，两边都会等对方持有的锁。按 Ctrl-C 停止控制台；它正在执行的更新会被还原，和
apply 一样。`,
	"imgup status": `对每个部分的每个服务：compose 文件里写的镜像（文件:行号）、.systemconfig 里记着它版本
的条目、这个镜像是否已加载、它的容器在运行什么（镜像、ID、状态、健康），以及最近一次
改过它的更新。

然后列出每个不一致，每个都附一行修复方法：
  config-drift        compose 里的标签和 .systemconfig 不一样（下次重启可能变回去）
  running-drift       容器运行的镜像和 compose 文件写的不一样
  not-loaded          compose 要的镜像不在 Docker 里（离线环境下次重启会失败）
  no-container、not-running、unhealthy
  interrupted-update  有一次 imgup 更新中途停了

全部一致时退出码 0，有不一致时 1：监控可以直接调用。不读任何镜像包，只向 Docker 查询
一轮。--json 按 docs/status.md 描述的带版本的格式输出报告。`,
}

var zhFlag = map[string]string{
	"accept a bundle that is unsigned or signed by an untrusted key (loudly)":                                                              "接受未签名或签名不受信任的更新包（会醒目地警告）",
	"IMAGE=KEY: the .systemconfig key that holds IMAGE's version, when imgup cannot tell (repeat; also config-keys: in <root>/imgup.yaml)": "IMAGE=KEY：imgup 分辨不出时，指定 .systemconfig 里记着 IMAGE 版本的键（可重复；也可写在 <root>/imgup.yaml 的 config-keys:）",
	"the deployment root (where deploy.sh and .systemconfig are)":                                                                          "部署根目录（deploy.sh 和 .systemconfig 所在的目录）",
	"print JSON for scripts": "输出 JSON，给脚本用",
	"when verification fails, leave the failed state for inspection instead of undoing it":                                                                              "检查失败时保留失败现场以便排查，不还原",
	"STACK=NAME: the compose project of a stack (console for the root, else its folder), when the containers cannot tell (repeat; also projects: in <root>/imgup.yaml)": "STACK=NAME：容器无法说明时，指定一个部分的 compose 项目名（根目录叫 console，其他用目录名；可重复；也可写在 <root>/imgup.yaml 的 projects:）",
	"update only this service (repeat; NAME or STACK/NAME); default: every service whose image has the archive's name":                                                  "只更新这个服务（可重复；NAME 或 STACK/NAME）；默认：镜像名和包里镜像相同的所有服务",
	"how long to wait for the updated services to run and be healthy":                                                                                                   "等待更新的服务运行并健康的最长时间",
	"a vendor's minisign public key to trust (repeat); default: <root>/.imgup/trusted/*.pub":                                                                            "信任的厂商 minisign 公钥（可重复）；默认：<root>/.imgup/trusted/*.pub",
	"apply without asking":                                 "不询问，直接执行",
	"a bundle this one builds on: its layers are left out": "这个包所基于的更新包：它已带过的层不再放入",
	"the minisign secret key to sign with (password: IMGUP_KEY_PASSWORD or --password-file)": "用来签名的 minisign 私钥（密码：IMGUP_KEY_PASSWORD 或 --password-file）",
	"the bundle's name (required)":                                                                         "更新包的名称（必填）",
	"a file with the release notes in English":                                                             "英文更新说明文件",
	"a file with the release notes in Chinese":                                                             "中文更新说明文件",
	"the bundle file to write (required)":                                                                  "要写出的更新包文件（必填）",
	"read the key's password from this file":                                                               "从这个文件读取密钥的密码",
	"REPO>=VERSION, REPO=TAG or FILE:KEY=VALUE: what the deployment must run (repeat)":                     "REPO>=VERSION、REPO=TAG 或 FILE:KEY=VALUE：部署必须满足的条件（可重复）",
	"REPO=STACK/SERVICE[,...]: the services that get REPO's image (repeat)":                                "REPO=STACK/SERVICE[,...]：使用 REPO 镜像的服务（可重复）",
	"FILE:KEY=VALUE: set a configuration key (repeat)":                                                     "FILE:KEY=VALUE：设置一个配置项（可重复）",
	"STACK/SERVICE:KEY=VALUE: set a service's environment entry (repeat)":                                  "STACK/SERVICE:KEY=VALUE：设置服务的一个环境变量（可重复）",
	"FILE:KEY: remove a configuration key (repeat)":                                                        "FILE:KEY：删除一个配置项（可重复）",
	"STACK/SERVICE:KEY: remove a service's environment entry (repeat)":                                     "STACK/SERVICE:KEY：删除服务的一个环境变量（可重复）",
	"write an unsigned bundle (customers must pass --allow-unsigned)":                                      "写出未签名的更新包（客户必须加 --allow-unsigned）",
	"the bundle's version (required)":                                                                      "更新包的版本（必填）",
	"the deployment root whose .imgup/trusted/ holds the trusted keys":                                     "部署根目录，其 .imgup/trusted/ 下放着信任的公钥",
	"read the secret key's password from this file (else IMGUP_KEY_PASSWORD)":                              "从这个文件读取私钥的密码（否则用 IMGUP_KEY_PASSWORD）",
	"the deployment root":                                                                                  "部署根目录",
	"write the report of update ID (markdown, or JSON with --json)":                                        "输出编号为 ID 的更新的报告（markdown；加 --json 为 JSON）",
	"send every layer, even those the engine has (no delta load)":                                          "发送每一层，Docker 已有的也发（不做增量加载）",
	"the deployment root whose .imgup/trusted/ holds the trusted keys (for bundles)":                       "部署根目录，其 .imgup/trusted/ 下放着信任的公钥（用于更新包）",
	"also remove images a recorded update could roll back to":                                              "也删除记录里的更新可能要回退到的镜像",
	"how many of the newest images of each repository to keep":                                             "每个仓库保留最新的几个镜像",
	"remove without asking":                                                                                "不询问，直接删除",
	"overwrite files changed since the update, and undo it even when later updates touched the same files": "覆盖更新之后又被改过的文件，即使之后的更新改过同样的文件也撤销",
	"how long to wait for the services to run their previous images":                                       "等待各服务恢复运行旧镜像的最长时间",
	"roll back without asking":                                                                             "不询问，直接回退",
	"allow plain HTTP beyond loopback (prints a warning)":                                                  "允许在本机回环之外使用明文 HTTP（会打印警告）",
	"the address to listen on (HOST:PORT); beyond loopback it needs TLS or --insecure-http":                "监听地址（HOST:PORT）；本机回环以外需要 TLS 或 --insecure-http",
	"the largest file an upload may be, in bytes":                                                          "上传文件的最大字节数",
	"free space uploads never take, in bytes (default: 5% of the filesystem, at most 1 GiB)":               "上传永远不占用的空闲空间，字节数（默认：文件系统的 5%，最多 1 GiB）",
	"serve HTTPS with this certificate (PEM)":                                                              "用这个证书提供 HTTPS（PEM）",
	"the certificate's private key (PEM)":                                                                  "证书的私钥（PEM）",
	"print the report as JSON (schema imgup.status/v1)":                                                    "以 JSON 输出报告（格式 imgup.status/v1）",
	"keep every column (file:line, config entry) even when the terminal is narrower":                       "即使终端较窄也显示所有列（文件:行号、配置项）",
	"the language of what imgup prints: en or zh (default: from LC_ALL, LC_MESSAGES or LANG)":              "imgup 输出的语言：en 或 zh（默认按 LC_ALL、LC_MESSAGES 或 LANG）",
}

// zhUsageTemplate is cobra's usage template in Chinese.
const zhUsageTemplate = `用法：{{if .Runnable}}
  {{.UseLine | zhUse}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [命令]{{end}}{{if .HasExample}}

示例：
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

命令：{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

选项：
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces | zhFlags}}{{end}}{{if .HasAvailableInheritedFlags}}

全局选项：
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces | zhFlags}}{{end}}{{if .HasAvailableSubCommands}}

用 "{{.CommandPath}} [命令] --help" 查看某个命令的详细说明。{{end}}
`

// zhFlagType and zhDefault put pflag's own words in a flag list in Chinese: the value's
// type after the flag's name, and "(default …)" after its usage.
var (
	zhFlagType = regexp.MustCompile(`(?m)^(\s+(?:-\S, )?--[\w-]+) (stringArray|string|duration|int64|int)\b`)
	zhDefault  = regexp.MustCompile(`\(default ([^()]*)\)`)
	zhTypes    = map[string]string{"stringArray": "文本…", "string": "文本", "duration": "时长", "int64": "整数", "int": "int"}
)

func init() {
	cobra.AddTemplateFunc("zhFlags", func(s string) string {
		s = zhFlagType.ReplaceAllStringFunc(s, func(m string) string {
			sm := zhFlagType.FindStringSubmatch(m)
			// Padded to the English word's cells, so the usage column stays aligned.
			zh := zhTypes[sm[2]]
			return sm[1] + " " + zh + strings.Repeat(" ", max(len(sm[2])-table.Width(zh), 0))
		})
		return zhDefault.ReplaceAllString(s, "（默认 $1）")
	})
	cobra.AddTemplateFunc("zhUse", func(s string) string { return strings.ReplaceAll(s, "[flags]", "[选项]") })
}
