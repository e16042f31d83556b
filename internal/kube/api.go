package kube

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// imgup asks the API for five kinds only (nodes, pods, replica sets and the three
// workloads), so it speaks to the API with REST clients over a scheme of two groups,
// core/v1 and apps/v1. client-go's typed clientsets register every group of
// Kubernetes when imgup starts, which costs every command some 25 MB of memory,
// including those that never see a cluster.
var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
	params = runtime.NewParameterCodec(scheme)
)

func init() {
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
}

// restFor is a REST client for one group version ("/api" for core, "/apis" else).
func restFor(cfg *rest.Config, gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = apiPath
	c.NegotiatedSerializer = codecs.WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientFor(c)
}

// coreAPI and appsAPI are the calls imgup makes, shaped as client-go's typed
// clients are, so that a call site reads the same.
type coreAPI struct{ rc *rest.RESTClient }

type appsAPI struct{ rc *rest.RESTClient }

func newAPIs(cfg *rest.Config) (coreAPI, appsAPI, error) {
	core, err := restFor(cfg, corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return coreAPI{}, appsAPI{}, err
	}
	apps, err := restFor(cfg, appsv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return coreAPI{}, appsAPI{}, err
	}
	return coreAPI{core}, appsAPI{apps}, nil
}

type nodesAPI struct{ rc *rest.RESTClient }

func (a coreAPI) Nodes() nodesAPI { return nodesAPI{a.rc} }

func (a nodesAPI) List(ctx context.Context, o metav1.ListOptions) (*corev1.NodeList, error) {
	out := &corev1.NodeList{}
	err := a.rc.Get().Resource("nodes").VersionedParams(&o, params).Do(ctx).Into(out)
	return out, err
}

type podsAPI struct {
	rc *rest.RESTClient
	ns string
}

func (a coreAPI) Pods(ns string) podsAPI { return podsAPI{a.rc, ns} }

func (a podsAPI) List(ctx context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	err := a.rc.Get().Namespace(a.ns).Resource("pods").VersionedParams(&o, params).Do(ctx).Into(out)
	return out, err
}

func (a podsAPI) Delete(ctx context.Context, name string, o metav1.DeleteOptions) error {
	return a.rc.Delete().Namespace(a.ns).Resource("pods").Name(name).Body(&o).Do(ctx).Error()
}

func (a podsAPI) GetLogs(name string, o *corev1.PodLogOptions) *rest.Request {
	return a.rc.Get().Namespace(a.ns).Resource("pods").Name(name).SubResource("log").VersionedParams(o, params)
}

// workloads reads one kind of apps/v1 object in a namespace.
type workloads[T runtime.Object] struct {
	rc       *rest.RESTClient
	ns, kind string
	make     func() T
}

func (w workloads[T]) Get(ctx context.Context, name string, _ metav1.GetOptions) (T, error) {
	out := w.make()
	err := w.rc.Get().Namespace(w.ns).Resource(w.kind).Name(name).Do(ctx).Into(out)
	return out, err
}

func (w workloads[T]) List(ctx context.Context, o metav1.ListOptions) (T, error) {
	out := w.make()
	err := w.rc.Get().Namespace(w.ns).Resource(w.kind).VersionedParams(&o, params).Do(ctx).Into(out)
	return out, err
}

func (a appsAPI) Deployments(ns string) workloads[*appsv1.Deployment] {
	return workloads[*appsv1.Deployment]{a.rc, ns, "deployments", func() *appsv1.Deployment { return &appsv1.Deployment{} }}
}

func (a appsAPI) StatefulSets(ns string) workloads[*appsv1.StatefulSet] {
	return workloads[*appsv1.StatefulSet]{a.rc, ns, "statefulsets", func() *appsv1.StatefulSet { return &appsv1.StatefulSet{} }}
}

func (a appsAPI) DaemonSets(ns string) workloads[*appsv1.DaemonSet] {
	return workloads[*appsv1.DaemonSet]{a.rc, ns, "daemonsets", func() *appsv1.DaemonSet { return &appsv1.DaemonSet{} }}
}

func (a appsAPI) ReplicaSets(ns string) workloads[*appsv1.ReplicaSetList] {
	return workloads[*appsv1.ReplicaSetList]{a.rc, ns, "replicasets", func() *appsv1.ReplicaSetList { return &appsv1.ReplicaSetList{} }}
}

// workload is one workload's metadata and pod template.
type workload struct {
	meta metav1.ObjectMeta
	pod  corev1.PodSpec
}

// lists are the namespace's workloads of each kind: who made them (Managed) and where
// their pods may run (Placement).
func (a appsAPI) lists(ns string) []func(ctx context.Context) (string, []workload, error) {
	list := func(kind, res string, into runtime.Object, items func() []workload) func(ctx context.Context) (string, []workload, error) {
		return func(ctx context.Context) (string, []workload, error) {
			err := a.rc.Get().Namespace(ns).Resource(res).Do(ctx).Into(into)
			return kind, items(), err
		}
	}
	var d appsv1.DeploymentList
	var s appsv1.StatefulSetList
	var ds appsv1.DaemonSetList
	return []func(ctx context.Context) (string, []workload, error){
		list("Deployment", "deployments", &d, func() (w []workload) {
			for _, x := range d.Items {
				w = append(w, workload{x.ObjectMeta, x.Spec.Template.Spec})
			}
			return w
		}),
		list("StatefulSet", "statefulsets", &s, func() (w []workload) {
			for _, x := range s.Items {
				w = append(w, workload{x.ObjectMeta, x.Spec.Template.Spec})
			}
			return w
		}),
		list("DaemonSet", "daemonsets", &ds, func() (w []workload) {
			for _, x := range ds.Items {
				w = append(w, workload{x.ObjectMeta, x.Spec.Template.Spec})
			}
			return w
		}),
	}
}
